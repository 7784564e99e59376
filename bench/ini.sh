# Sourced by the bench scripts: bench_ini PORT STATE_DIR PLUGIN_DIR [WORKERS]
# prints bench/slashd.ini.in filled in (4 workers unless given).
bench_ini() {
  sed -e "s|@PORT@|$1|" -e "s|@STATE_DIR@|$2|" -e "s|@PLUGIN_DIR@|$3|" \
    -e "s|@WORKERS@|${4:-4}|" -e "s|@SERVER_EXTRA@||" "$(dirname "${BASH_SOURCE[0]}")/slashd.ini.in"
}
