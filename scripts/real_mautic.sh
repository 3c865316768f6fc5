#!/usr/bin/env bash
# A real Mautic 5.1.0 on loopback for `make test-real` and the differential check, through the scripts in
# ../shared/real-mautic (PHP 8.2 built-in server + MariaDB from Debian's packages).
#
#   scripts/real_mautic.sh build <git dir of Meshalkhan/mautic> <git dir of mautic/mautic>
#   scripts/real_mautic.sh start | stop | reset | env
#
# The two git directories come from the search tool's `fetch` (see the README, "Development"). The port is
# chosen at build time (MAUTIC_REAL_PORT, default 18080; it is in Mautic's site URL) and recorded in the
# instance folder (MAUTIC_REAL_HOME, default ~/.cache/mautic-real). `env` prints the variables the real-server
# tests read: `eval "$(scripts/real_mautic.sh env)"`.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
REAL=${MAUTIC_REAL_SCRIPTS:-$HERE/../shared/real-mautic}
HOME_DIR=${MAUTIC_REAL_HOME:-$HOME/.cache/mautic-real}
export MAUTIC_REAL_HOME=$HOME_DIR
[ -x "$REAL/build.sh" ] || { echo "real_mautic.sh: no build.sh in $REAL (set MAUTIC_REAL_SCRIPTS)" >&2; exit 2; }

recorded() { sed -n "s/^$1=//p" "$HOME_DIR/instance.env" 2>/dev/null; }

case "${1:-}" in
  build)
    [ $# -eq 3 ] || { echo "usage: $0 build <Meshalkhan/mautic git dir> <mautic/mautic git dir>" >&2; exit 2; }
    MAUTIC_REAL_PORT=${MAUTIC_REAL_PORT:-18080} "$REAL/build.sh" "$2" "$3" ;;
  start) "$REAL/start.sh" ;;
  stop) "$REAL/stop.sh" ;;
  reset) "$REAL/reinstall.sh" ;;
  env)
    port=$(recorded PORT); db=$(recorded DB)
    [ -n "$port" ] || { echo "real_mautic.sh: no instance in $HOME_DIR (run build first)" >&2; exit 2; }
    echo "export MAUTIC_REAL_URL=http://127.0.0.1:$port"
    echo "export MAUTIC_REAL_HOME=$HOME_DIR"
    echo "export MAUTIC_REAL_DB=$db"
    echo "export MAUTIC_REAL_SCRIPTS=$REAL" ;;
  *) echo "usage: $0 build <snapshot git dir> <upstream git dir> | start | stop | reset | env" >&2; exit 2 ;;
esac
