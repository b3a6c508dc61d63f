#!/usr/bin/env bash
# The quick start: Dysnomia's main job on an example that needs no database
# server and no root. It builds the binary, then
#   1. switches to system version 1 (creates a SQLite database from its init
#      script, and a fileset directory);
#   2. runs the pre-switch step for version 2, whose database component
#      changed: it snapshots the database before anything touches it;
#   3. switches to version 2, and runs it again to show it is a no-op;
#   4. lists the snapshot store (upstream dysnomia-snapshots --query-all);
#   5. loses the database, restores it from the snapshot, and shows that a new
#      snapshot of it has the same content (no new generation); verifies the
#      store.
#
# Usage: examples/quickstart/run.sh [WORKDIR]
# WORKDIR (default: ./quickstart) receives the binary, the two system
# versions, the databases, the files and the state directory. A WORKDIR left
# by an earlier run is replaced; any other existing path is refused.
set -euo pipefail

example=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$example/../.." && pwd)
work=$(realpath -m "${1:-quickstart}")

case "$work" in
  *[\#\&\\\"]*) echo "quickstart: $work: choose a directory without # & \\ or \" in its path" >&2; exit 1 ;;
esac
if [ -e "$work" ] || [ -L "$work" ]; then
  if [ ! -f "$work/.dysnomia-quickstart" ]; then
    echo "quickstart: $work exists and was not made by this script; remove it or name another directory" >&2
    exit 1
  fi
  rm -rf "$work"
fi
mkdir -p "$work/bin"
touch "$work/.dysnomia-quickstart"

step() { printf '\n== %s\n' "$*"; }
show() { printf '$ %s\n' "$*"; "$@"; }

step "build dysnomia into $work/bin"
(cd "$root" && go build -o "$work/bin/dysnomia" ./cmd/dysnomia)
ln -s dysnomia "$work/bin/dysnomia-snapshots"
export PATH="$work/bin:$PATH"
export DYSNOMIA_STATEDIR="$work/state"
cd "$work"

# Each version is laid out as a NixOS system toplevel: <toplevel>/etc/dysnomia/system.json.
for v in v1 v2; do
  mkdir -p "$v/etc/dysnomia"
  sed -e "s#@workdir@#$work#g" -e "s#@example@#$example#g" \
    "$example/system-$v.json" >"$v/etc/dysnomia/system.json"
done

step "check both system configs"
show dysnomia system check v1/etc/dysnomia/system.json
show dysnomia system check v2/etc/dysnomia/system.json

step "switch to version 1: create the database and the fileset"
show dysnomia system switch --config v1/etc/dysnomia/system.json

step "use them: the application writes a file"
echo '$ echo "first upload" > files/uploads/hello.txt'
echo "first upload" >files/uploads/hello.txt

step "before switching to version 2 (notes changed): snapshot what the switch affects"
show dysnomia system pre-switch v2 switch

step "switch to version 2"
show dysnomia system switch --config v2/etc/dysnomia/system.json

step "switch to version 2 again: nothing to do"
show dysnomia system switch --config v2/etc/dysnomia/system.json

step "the snapshot store"
show dysnomia-snapshots --query-all

step "the database is lost: restore it from its latest snapshot"
# The switch writes upstream-style container and component files of the
# declared config; with these two variables, commands name them by name.
export DYSNOMIA_CONTAINERS_PATH="$DYSNOMIA_STATEDIR/system/etc/containers"
export DYSNOMIA_COMPONENTS_PATH="$DYSNOMIA_STATEDIR/system/etc/components"
echo '$ rm databases/notes.sqlite'
rm databases/notes.sqlite
show dysnomia restore --container sqlite-database --component notes
show dysnomia snapshot --container sqlite-database --component notes
show dysnomia snapshots list
show dysnomia snapshots check

step "every declared component works by name: the fileset too (its targetDir is its own property)"
show dysnomia snapshot --container fileset --component uploads
echo '$ rm files/uploads/hello.txt'
rm files/uploads/hello.txt
show dysnomia restore --container fileset --component uploads
show cat files/uploads/hello.txt

printf '\nState directory: %s\n' "$DYSNOMIA_STATEDIR"
