#!/usr/bin/env python3
"""bench/report.py OUT — turns bench/run's raw/ files into results.md and the
gnuplot script for cdf.png. Standard library only."""
import glob
import os
import re
import statistics
import sys

OUT = sys.argv[1]
RAW = os.path.join(OUT, "raw")
SYSTEMS = ("slashd", "bolt")
TEXTS = (("nosuch", "unknown command, answered in the ack"),
         ("help", "`help`: ack + reply to response_url"))


def read_kv(path):
    """'key value' lines (cdf lines are skipped)."""
    kv = {}
    with open(path) as f:
        for line in f:
            parts = line.split(None, 1)
            if len(parts) == 2 and parts[0] != "cdf":
                kv[parts[0]] = parts[1].strip()
    return kv


def read_cdf(path):
    pts = []
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                p = line.split()
                if len(p) == 3 and p[0] == "cdf":
                    pts.append((float(p[1]), float(p[2])))
    return pts


def ackbench_kv(path):
    """key=value pairs of an ackbench report."""
    kv = {}
    with open(path) as f:
        for line in f:
            for k, v in re.findall(r"([\w.]+)=([\d.]+)", line):
                kv.setdefault(line.split()[0] + ":" + k if not line.startswith("requests=") else k, v)
    return kv


def rounds():
    rs = set()
    for p in glob.glob(os.path.join(RAW, "*.r*.rss")):
        m = re.search(r"\.r(\d+)\.", os.path.basename(p))
        if m:
            rs.add(int(m.group(1)))
    return sorted(rs)


ROUNDS = rounds()
machine = read_kv(os.path.join(RAW, "machine"))
CONNS = machine.get("conns", "16 64").split()


def per_round(fn):
    """{sys: [value per round]} (None where missing)."""
    out = {}
    for s in SYSTEMS:
        vals = []
        for r in ROUNDS:
            try:
                vals.append(fn(s, r))
            except (OSError, KeyError, ValueError, ZeroDivisionError):
                vals.append(None)
        out[s] = vals
    return out


def mean(vals):
    v = [x for x in vals if x is not None]
    return statistics.mean(v) if v else None


def noise(vals):
    """Half the range across rounds, relative to the mean."""
    v = [x for x in vals if x is not None]
    if len(v) < 2 or not statistics.mean(v):
        return None
    return (max(v) - min(v)) / 2 / statistics.mean(v) * 100


def fmt(x, unit=""):
    if x is None:
        return "n/a"
    if abs(x) >= 1000:
        s = f"{x:,.0f}"
    elif abs(x) >= 100:
        s = f"{x:.0f}"
    elif abs(x) >= 10:
        s = f"{x:.1f}"
    else:
        s = f"{x:.2f}"
    return s + unit


def ratio(a, b):
    if a is None or b is None or b == 0:
        return "n/a"
    r = a / b
    return f"{r:.1f}×" if r >= 10 else f"{r:.2f}×"


rows = []  # (figure, {sys: [vals]}, unit)


def row(name, fn, unit=""):
    vals = per_round(fn)
    rows.append((name, vals, unit))
    return vals


def wrk(s, r, text, c):
    return read_kv(os.path.join(RAW, f"{s}.r{r}.{text}.c{c}.wrk"))


def ok_requests(s, r, text, c):
    """Requests answered 200: a burst that outruns the replay memory gets
    cheap 503s, which must not count as acks."""
    w = wrk(s, r, text, c)
    return float(w["requests"]) - float(w.get("non200", 0))


def cpu_s(s, r, text, c):
    w = wrk(s, r, text, c)
    return float(w["cpu_ticks"]) / float(w["clk_tck"])


summary = {}
for text, label in TEXTS:
    for c in CONNS:
        rows.append((f"**{label}, wrk {c} connections**", None, ""))
        summary[("rps", text, c)] = row(
            "requests/s (200 acks)",
            lambda s, r: ok_requests(s, r, text, c) / float(wrk(s, r, text, c)["seconds"]))
        for p in ("50", "90", "99"):
            summary[(f"p{p}", text, c)] = row(
                f"ack latency p{p}",
                lambda s, r, p=p: float(wrk(s, r, text, c)[f"lat_p{p}_us"]) / 1000, " ms")
        summary[("cpu", text, c)] = row("CPU per request (server + workers)",
                                        lambda s, r: cpu_s(s, r, text, c)
                                        / ok_requests(s, r, text, c) * 1e6, " µs")
        if text == "help":
            # Busy acks (a full queue) are charged what an unknown command's
            # ack costs in the same round; the rest is the completed jobs'.
            row("CPU per completed job (busy acks at the unknown command's cost)",
                lambda s, r: (cpu_s(s, r, text, c) - float(wrk(s, r, text, c)["acks_busy"])
                              * cpu_s(s, r, "nosuch", c) / ok_requests(s, r, "nosuch", c))
                / float(wrk(s, r, text, c)["acks_queued"]) * 1e6, " µs")
            summary[("jobs", c)] = row(
                "completed jobs/s (queued acks / run seconds)",
                lambda s, r: float(wrk(s, r, text, c)["acks_queued"])
                / float(wrk(s, r, text, c)["seconds"]))
        summary[("busy", text, c)] = row(
            "server CPU busy during the run",
            lambda s, r: cpu_s(s, r, text, c) / float(wrk(s, r, text, c)["seconds"]) * 100, " %")
        row("wrk CPU busy (client core)",
            lambda s, r: float(wrk(s, r, text, c)["client_cpu_s"])
            / float(wrk(s, r, text, c)["seconds"]) * 100, " %")


RATES = machine.get("rates", machine.get("rate", "1000")).split()


def paced(s, r, rate):
    path = os.path.join(RAW, f"{s}.r{r}.paced{rate}")
    if not os.path.exists(path):  # a run from before several rates
        path = os.path.join(RAW, f"{s}.r{r}.paced")
    return ackbench_kv(path)


for rate in RATES:
    rows.append((f"**open loop: {rate} req/s over 64 connections, unknown command**", None, ""))
    for p in ("p50", "p99", "p99.9"):
        summary[("paced", rate, p)] = row(
            f"ack latency {p}",
            lambda s, r, p=p, rate=rate: float(paced(s, r, rate)[f"latency_us:{p}"]) / 1000, " ms")
    row("requests answered/s", lambda s, r, rate=rate: float(paced(s, r, rate)["rps"]))


def e2e(s, r):
    return ackbench_kv(os.path.join(RAW, f"{s}.r{r}.e2e"))


rows.append((f"**`help` end to end (POST → reply at the sink), one at a time, "
             f"{machine.get('e2e_n', '')} commands**", None, ""))
for p in ("p50", "p90", "p99"):
    summary[("e2e", p)] = row(f"end to end {p}",
                              lambda s, r, p=p: float(e2e(s, r)[f"e2e_us:{p}"]) / 1000, " ms")


def cold(s, r):
    with open(os.path.join(RAW, f"{s}.r{r}.cold")) as f:
        v = [float(l.split()[1]) for l in f if l.startswith("cold_us ")]
    return v


rows.append((f"**cold start: exec → first 200 ack of a signed command, "
             f"{machine.get('cold_n', '')} starts per round**", None, ""))
summary["cold"] = row("cold start p50", lambda s, r: statistics.median(cold(s, r)) / 1000, " ms")
row("cold start max", lambda s, r: max(cold(s, r)) / 1000, " ms")


def rss_idle(s, r, i):
    with open(os.path.join(RAW, f"{s}.r{r}.rss")) as f:
        return float(f.read().split()[1 + i]) / 1024


def rss_peak(s, r):
    """The sample with the highest total RSS over all load runs."""
    best = None
    for p in glob.glob(os.path.join(RAW, f"{s}.r{r}.*.c*.rss")):
        with open(p) as f:
            for line in f:
                v = [float(x) / 1024 for x in line.split()]
                if len(v) == 4 and (best is None or v[2] > best[2]):
                    best = v
    if best is None:
        raise ValueError
    return best


rows.append(("**memory (VmRSS; PSS counts shared pages once across processes)**", None, ""))
row("RSS idle, main process", lambda s, r: rss_idle(s, r, 0), " MB")
row("RSS idle, spawner + 4 workers", lambda s, r: rss_idle(s, r, 1) if s == "slashd" else None, " MB")
summary["rss_idle"] = row("RSS idle, total", lambda s, r: rss_idle(s, r, 2), " MB")
row("PSS idle, total", lambda s, r: rss_idle(s, r, 3), " MB")
row("RSS under load (peak), main process", lambda s, r: rss_peak(s, r)[0], " MB")
row("RSS under load (peak), spawner + workers", lambda s, r: rss_peak(s, r)[1] if s == "slashd" else None, " MB")
summary["rss_load"] = row("RSS under load (peak), total", lambda s, r: rss_peak(s, r)[2], " MB")
summary["pss_load"] = row("PSS under load (peak), total", lambda s, r: rss_peak(s, r)[3], " MB")

# ---- ack kinds ----------------------------------------------------------------

kinds = []
for text, label in TEXTS:
    for c in CONNS:
        for s in SYSTEMS:
            for r in ROUNDS:
                try:
                    k = wrk(s, r, text, c)
                except OSError:
                    continue
                kinds.append((s, r, text, c, k))

# ---- sigv4 ---------------------------------------------------------------------

sigv4 = []
sigv4_source = None
try:
    with open(os.path.join(RAW, "sigv4")) as f:
        for line in f:
            m = re.match(r"sigv4 (\w+) median=(\d+) min=(\d+) max=(\d+)", line)
            if m:
                sigv4.append(m.groups())
            elif line.startswith("source "):
                sigv4_source = line.strip()[len("source "):]
            elif line.strip():
                sigv4.append((line.strip(),))
except OSError:
    pass

# ---- targets -------------------------------------------------------------------


def held(ok):
    return "**holds**" if ok else "**does not hold**"


def first(key, sys="slashd"):
    return mean(summary[key][sys]) if key in summary else None


# Issue 16's targets, for slashd at 64 connections and the open loop at
# 10,000 req/s.
targets = []
if "64" in CONNS:
    v = first(("busy", "nosuch", "64"))
    if v is not None:
        targets.append(f"unknown command, 64 connections: server core ≥ 95 % busy: {v:.0f} % → "
                       f"{held(v >= 95)}")
    v = first(("cpu", "nosuch", "64"))
    if v is not None:
        targets.append(f"unknown command, 64 connections: CPU per ack ≤ 15 µs: {v:.1f} µs → "
                       f"{held(v <= 15)}")
    a, b = first(("rps", "nosuch", "64")), first(("rps", "nosuch", "64"), "bolt")
    if a and b:
        targets.append(f"unknown command, 64 connections: ≥ 15× Bolt's requests/s: {a / b:.1f}× → "
                       f"{held(a / b >= 15)}")
    n = noise(summary[("rps", "nosuch", "64")]["slashd"])
    if n is not None:
        targets.append(f"unknown command, 64 connections: round-to-round noise ≤ 15 %: ±{n:.0f} % → "
                       f"{held(n <= 15)}")
    jobs = [x for x in rows if x[0].startswith("CPU per completed job")]
    if jobs:
        v = mean(jobs[-1][1]["slashd"])
        if v is not None:
            targets.append(f"`help` as a whole job, 64 connections: CPU per job ≤ 60 µs: {v:.0f} µs → "
                           f"{held(v <= 60)}")
    a, b = first(("jobs", "64")), first(("jobs", "64"), "bolt")
    if a and b:
        targets.append(f"`help`, 64 connections: ≥ 15× Bolt's completed jobs/s: {a / b:.1f}× → "
                       f"{held(a / b >= 15)}")
for rate in RATES:
    p99, p999 = first(("paced", rate, "p99")), first(("paced", rate, "p99.9"))
    if rate == "10000" and p99 is not None and p999 is not None:
        targets.append(f"open loop at 10,000 req/s over 64 connections: p99 ≤ 2 ms: {p99:.2f} ms → "
                       f"{held(p99 <= 2)}; p99.9 ≤ 5 ms: {p999:.2f} ms → {held(p999 <= 5)}")
v = first("cold")
if v is not None:
    targets.append(f"cold start p50 ≤ 15 ms: {v:.1f} ms → {held(v <= 15)}")
v = first("pss_load")
if v is not None:
    targets.append(f"PSS under load, main + spawner + 4 workers, ≤ 15 MB: {v:.1f} MB → {held(v <= 15)}")

# ---- results.md ----------------------------------------------------------------

md = []
md.append(f"# slashd vs Slack Bolt — {machine.get('date', '')}\n")
md.append("| machine | |\n|---|---|")
for k in ("cpu", "cores", "memory", "os", "kernel", "slashd", "build_type", "cc", "node", "bolt",
          "wrk", "pinning", "loadavg_before", "loadavg_after"):
    if k in machine:
        md.append(f"| {k} | {machine[k]} |")
md.append("")
md.append(f"{len(ROUNDS)} rounds, alternating slashd and Bolt (A B A B …); wrk runs "
          f"{machine.get('duration', '?')} s each with `-t1`. Each figure is the mean over the rounds; "
          "*noise* is half the range between rounds relative to that mean. Ratios are slashd/Bolt: "
          "above 1 for requests/s is better, below 1 for latency, CPU and memory is better.\n")
md.append("| figure | slashd | Bolt | slashd/Bolt | noise slashd | noise Bolt |")
md.append("|---|---:|---:|---:|---:|---:|")
for name, vals, unit in rows:
    if vals is None:
        md.append(f"| {name} | | | | | |")
        continue
    a, b = mean(vals["slashd"]), mean(vals["bolt"])
    na, nb = noise(vals["slashd"]), noise(vals["bolt"])
    md.append(f"| {name} | {fmt(a, unit)} | {fmt(b, unit)} | {ratio(a, b)} | "
              f"{'' if na is None else f'±{na:.0f}%'} | {'' if nb is None else f'±{nb:.0f}%'} |")
md.append("")
if sigv4:
    md.append("**SigV4 signer** (slashd only; Bolt has no AWS signer)"
              + (f", built from {sigv4_source}" if sigv4_source else "") + ":\n")
    if len(sigv4[0]) == 4:
        md.append("| request signed | signatures/s (median) | min | max |\n|---|---:|---:|---:|")
        for name, med, lo, hi in sigv4:
            md.append(f"| {name} | {int(med):,} | {int(lo):,} | {int(hi):,} |")
    else:
        md.append(f"SigV4: {sigv4[0][0]}")
    md.append("")
md.append("**Ack kinds per wrk run** (slashd answers a full queue with a cheaper \"busy\" ack; "
          "Bolt has no queue):\n")
md.append("| system | round | command | conns | requests | queued | busy | duplicate | other | non-200 | errors |")
md.append("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|")
for s, r, text, c, k in kinds:
    errs = sum(int(k.get(f"errors_{e}", 0)) for e in ("connect", "read", "write", "timeout"))
    md.append(f"| {s} | {r} | {text} | {c} | {k.get('requests')} | {k.get('acks_queued')} | "
              f"{k.get('acks_busy')} | {k.get('acks_duplicate')} | {k.get('acks_other')} | "
              f"{k.get('non200')} | {errs} |")
md.append("")
md.append("**Targets (slashd):**\n")
for t in targets:
    md.append(f"- {t}")
md.append("")
md.append("![latency CDF](cdf.png)\n")
with open(os.path.join(OUT, "results.md"), "w") as f:
    f.write("\n".join(md))

# ---- cdf.png -------------------------------------------------------------------
# x: the percentile on a tail scale (-log10(1-p)), y: latency in ms (log).
data = os.path.join(RAW, "cdf.dat")
series = []  # (title, index, color, dash)
colors = {"slashd": "#1f77b4", "bolt": "#d62728"}
with open(data, "w") as f:
    idx = 0

    def put(pts, title, color, dash, panel):
        global idx
        pts = [(p, us) for p, us in pts if p < 100]
        if not pts:
            return
        for p, us in pts:
            f.write(f"{-__import__('math').log10(1 - p / 100):.6f} {max(us, 1) / 1000:.4f}\n")
        f.write("\n\n")
        series.append((panel, title, idx, color, dash))
        idx += 1

    for s in SYSTEMS:
        name = "slashd" if s == "slashd" else "Bolt"
        for r in ROUNDS:
            for text, dash in (("nosuch", 1), ("help", 2)):
                put(read_cdf(os.path.join(RAW, f"{s}.r{r}.{text}.c64.wrk")),
                    f"{name} {'unknown cmd' if text == 'nosuch' else 'help'}" if r == ROUNDS[0] else "",
                    colors[s], dash, 0)
            put(read_cdf(os.path.join(RAW, f"{s}.r{r}.paced{RATES[-1]}.cdf")),
                f"{name}" if r == ROUNDS[0] else "", colors[s], 1, 1)
            put(read_cdf(os.path.join(RAW, f"{s}.r{r}.e2e.cdf")),
                f"{name}" if r == ROUNDS[0] else "", colors[s], 1, 2)

titles = ["wrk burst, 64 connections (closed loop)", f"open loop, {RATES[-1]} req/s, 64 connections",
          "help end to end (POST → reply)"]
gp = [f'set terminal pngcairo size 1500,520 font "sans,10"',
      f'set output "{os.path.join(OUT, "cdf.png")}"',
      "set multiplot layout 1,3 title 'slashd vs Bolt — latency by percentile (every round drawn)'",
      "set logscale y", "set grid", "set key top left",
      # tic labels are format strings: %% is a literal %
      "set xtics ('0%%' 0, '50%%' log10(2), '90%%' 1, '99%%' 2, '99.9%%' 3, '99.99%%' 4)",
      "set xrange [0:3.5]", "set xlabel 'percentile'", "set ylabel 'latency (ms)'"]
for panel in range(3):
    plots = []
    for pnl, title, i, color, dash in series:
        if pnl != panel:
            continue
        t = f"title '{title}'" if title else "notitle"
        plots.append(f"'{data}' index {i} using 1:2 with lines lw 2 lc rgb '{color}' dt {dash} {t}")
    gp.append(f"set title \"{titles[panel]}\"")
    gp.append("plot " + ", \\\n     ".join(plots) if plots else "plot 1 notitle")
gp.append("unset multiplot")
with open(os.path.join(RAW, "cdf.gp"), "w") as f:
    f.write("\n".join(gp) + "\n")
