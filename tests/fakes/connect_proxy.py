#!/usr/bin/python3
"""connect_proxy.py -- a tiny loopback HTTPS proxy for the proxy tests.

  /usr/bin/python3 tests/fakes/connect_proxy.py --upstream PORT --cert CERT.pem --key KEY.pem

Binds 127.0.0.1 only; the first stdout line is ``PROXY_PORT=<n>``. It
answers ``CONNECT host:443`` with 200, then plays that host itself: TLS with
the given certificate (the test makes one for ``*.slashd.invalid`` and hands
it to the client as AWS_CA_BUNDLE), and the decrypted HTTP goes to
127.0.0.1:PORT (the fake AWS) in plain text. It never connects anywhere but
that loopback port, whatever the CONNECT names. Anything other than CONNECT
(an absolute-form http:// request) gets 405, so a test sees that a request
came through the proxy. One line per request on stderr:
``connect_proxy: CONNECT aws.slashd.invalid:443`` or ``connect_proxy: GET
http://…``. Exits when stdin closes.
"""

import argparse
import os
import socket
import ssl
import sys
import threading

MAX_HEAD = 16384


def log(line):
    sys.stderr.write("connect_proxy: %s\n" % line)
    sys.stderr.flush()


def read_head(sock):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk or len(data) > MAX_HEAD:
            return None, b""
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    return head.decode("latin-1"), rest


def pipe(src, dst):
    try:
        while True:
            chunk = src.recv(65536)
            if not chunk:
                break
            dst.sendall(chunk)
    except OSError:
        pass
    finally:
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def handle(client, ctx, upstream):
    try:
        head, rest = read_head(client)
        if head is None:
            return
        request_line = head.split("\r\n", 1)[0]
        method, target = (request_line.split(" ") + ["", ""])[:2]
        log("%s %s" % (method, target))
        if method != "CONNECT":
            client.sendall(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            return
        client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        if rest:  # a client never sends TLS before the 200
            return
        tls = ctx.wrap_socket(client, server_side=True)
        up = socket.create_connection(("127.0.0.1", upstream), timeout=30)
        t = threading.Thread(target=pipe, args=(up, tls), daemon=True)
        t.start()
        pipe(tls, up)
        t.join(timeout=30)
    except (OSError, ssl.SSLError) as e:
        log("error %s" % e)
    finally:
        client.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--upstream", type=int, required=True)
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    args = ap.parse_args()
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(args.cert, args.key)
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(16)
    sys.stdout.write("PROXY_PORT=%d\n" % srv.getsockname()[1])
    sys.stdout.flush()

    def watch():
        while sys.stdin.buffer.read(4096):
            pass
        os._exit(0)  # close() would not wake the accept() below
    threading.Thread(target=watch, daemon=True).start()
    while True:
        try:
            client, _ = srv.accept()
        except OSError:
            return 0
        threading.Thread(target=handle, args=(client, ctx, args.upstream), daemon=True).start()


if __name__ == "__main__":
    sys.exit(main())
