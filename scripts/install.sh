#!/usr/bin/env bash
# Install the appliance on a device (Debian 12), or stage the install tree for a package/image.
#
#   scripts/install.sh                  install to / (as root), then create the users and
#                                       directories and reload systemd
#   scripts/install.sh --destdir DIR    stage everything under DIR (no root needed, nothing run)
#
# Lays out:
#   /opt/appliance/venv                 Python venv with the product (pip install of this repository)
#   /opt/appliance/models               ONNX models and manifest.json (sha256-checked here and at load)
#   /opt/appliance/guard_ui             the guard's screens, served by the service at /guard/
#   /etc/appliance/appliance.toml       production config (an existing one is kept; the new one
#                                       is written next to it as appliance.toml.new)
#   /lib/systemd/system                 appliance.service, appliance-kiosk.service,
#                                       appliance-sync.service (sync with central, once enrolled)
#   /usr/lib/sysusers.d, /usr/lib/tmpfiles.d, /etc/pam.d/appliance-kiosk
# Python packages come through pip as configured on this machine (its index and cache).
# Then: systemctl enable --now appliance.service (and, with a screen, `apt-get install cage
# chromium` and systemctl enable appliance-kiosk.service).
set -euo pipefail

usage() { echo "usage: scripts/install.sh [--destdir DIR]" >&2; exit 2; }

destdir=""
while (($#)); do
  case "$1" in
    --destdir) (($# >= 2)) || usage; destdir=$2; shift 2 ;;
    --destdir=*) destdir=${1#--destdir=}; shift ;;
    -h|--help) sed -n '2,/^set -e/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; exit 0 ;;
    *) usage ;;
  esac
done

repo=$(cd "$(dirname "$0")/.." && pwd)
if [[ -n "$destdir" ]]; then
  mkdir -p "$destdir"
  destdir=$(cd "$destdir" && pwd)
  [[ "$destdir" != / ]] || destdir=""
fi
if [[ -z "$destdir" && $EUID -ne 0 ]]; then
  echo "install: installing to / needs root (or stage with --destdir DIR)" >&2
  exit 2
fi

PREFIX=/opt/appliance
venv=$destdir$PREFIX/venv
PY=${PYTHON:-python3}
umask 022

# --- the venv and the product -------------------------------------------------------------------
if [[ ! -x "$venv/bin/python" ]]; then
  echo "install: creating $venv"
  "$PY" -m venv "$venv"
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# build the wheel from a copy, so the checkout gets no build/ or egg-info from it
mkdir "$work/src" "$work/dist"
if git -C "$repo" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  (cd "$repo" && git ls-files -z -co --exclude-standard -- . ':!tests' ':!models' |
    xargs -0 -r cp --parents -t "$work/src" 2>/dev/null || true)
else
  tar -C "$repo" --exclude=./.venv --exclude=./var --exclude=./.git --exclude=./tests \
    --exclude=./models --exclude=./build --exclude=./dist -cf - . | tar -C "$work/src" -xf -
fi
echo "install: building and installing the product into $venv"
"$venv/bin/python" -m pip wheel -q --no-deps -w "$work/dist" "$work/src"
"$venv/bin/python" -m pip uninstall -q -y border-appliance >/dev/null 2>&1 || true
"$venv/bin/python" -m pip install -q --no-compile "$work"/dist/*.whl
if [[ -n "$destdir" ]]; then
  # a staged venv runs from $PREFIX/venv: entry points and activate scripts name that path
  grep -rlI --null -F "$venv" "$venv/bin" "$venv/pyvenv.cfg" |
    xargs -0 -r sed -i "s|$venv|$PREFIX/venv|g"
fi
# byte-compiled once here: /opt is read-only to the service (ProtectSystem=strict), and a cold
# start that compiles every module would miss its READY budget
"$venv/bin/python" -m compileall -q -j 0 ${destdir:+-s "$destdir" -p /} "$venv/lib" >/dev/null

# --- models ---------------------------------------------------------------------------------------
echo "install: models to $destdir$PREFIX/models"
"$venv/bin/python" - "$repo/models" "$destdir$PREFIX/models" <<'PYEOF'
"""Copy manifest.json and every model it lists; refuse a file whose sha256 differs."""
import hashlib, json, shutil, sys
from pathlib import Path

source, target = Path(sys.argv[1]), Path(sys.argv[2])
manifest = json.loads((source / "manifest.json").read_text())
for entry in manifest["models"]:
    data = (source / entry["file"]).read_bytes()
    if hashlib.sha256(data).hexdigest() != entry["sha256"]:
        sys.exit(f"install: {entry['file']}: sha256 differs from the manifest")
    (target / entry["file"]).parent.mkdir(parents=True, exist_ok=True)
    (target / entry["file"]).write_bytes(data)
shutil.copyfile(source / "manifest.json", target / "manifest.json")
PYEOF

# --- config, units, users, directories -----------------------------------------------------------
install -d "$destdir/etc/appliance"
if [[ -e "$destdir/etc/appliance/appliance.toml" ]]; then
  install -m 0644 "$repo/config/appliance.toml" "$destdir/etc/appliance/appliance.toml.new"
  echo "install: kept /etc/appliance/appliance.toml; the shipped one is appliance.toml.new"
else
  install -m 0644 "$repo/config/appliance.toml" "$destdir/etc/appliance/appliance.toml"
fi
install -D -m 0644 -t "$destdir/lib/systemd/system" \
  "$repo/systemd/appliance.service" "$repo/systemd/appliance-kiosk.service" \
  "$repo/systemd/appliance-sync.service"
install -D -m 0644 "$repo/systemd/sysusers.d/appliance.conf" \
  "$destdir/usr/lib/sysusers.d/appliance.conf"
install -D -m 0644 "$repo/systemd/tmpfiles.d/appliance.conf" \
  "$destdir/usr/lib/tmpfiles.d/appliance.conf"
install -D -m 0644 "$repo/systemd/pam.d/appliance-kiosk" "$destdir/etc/pam.d/appliance-kiosk"
install -D -m 0644 "$repo/README.md" "$destdir$PREFIX/README.md"

# --- the guard's screens (static files; the service finds them beside its venv, /guard/) ---------
echo "install: guard screens to $destdir$PREFIX/guard_ui"
rm -rf "$destdir$PREFIX/guard_ui"
install -d "$destdir$PREFIX/guard_ui"
cp -R "$repo/guard_ui/." "$destdir$PREFIX/guard_ui/"
rm -f "$destdir$PREFIX/guard_ui/README.md"
chmod -R u=rwX,go=rX "$destdir$PREFIX/guard_ui"

if [[ -n "$destdir" ]]; then
  echo "install: staged in $destdir (run systemd-sysusers, systemd-tmpfiles --create and"
  echo "         systemctl daemon-reload on the device after unpacking it)"
  exit 0
fi
systemd-sysusers /usr/lib/sysusers.d/appliance.conf
systemd-tmpfiles --create /usr/lib/tmpfiles.d/appliance.conf
if [[ -d /run/systemd/system ]]; then
  systemctl daemon-reload
fi
if dpkg-query -W -f='${Status}' vsmartcard-vpcd 2>/dev/null | grep -q "install ok installed"; then
  echo "install: WARNING: vsmartcard-vpcd is installed; a production device must not have it" >&2
fi
echo "install: done; start with: systemctl enable --now appliance.service"
