#!/usr/bin/env bash
# `rotor logits` on Hugging Face LLaMA directories against a float64 numpy forward written in Meta's
# original conventions (adjacent-pair complex rotary embedding on Meta's q/k rows; the HF files are made
# by permuting them as the HF conversion does): tests/models/llama_meta_check.py, which shares nothing
# with tests/models/make_llama_reference.py's reading of the format.
set -uo pipefail
rotor=$1
fail() { echo "FAIL: $*"; exit 1; }
[ -x /usr/bin/python3 ] || fail "/usr/bin/python3 is missing (scripts/setup.sh installs it)"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
here=$(cd "$(dirname "$0")/../models" && pwd)
/usr/bin/python3 "$here/llama_meta_check.py" "$rotor" "$tmp" || fail "rotor disagrees with Meta's conventions"
echo ok
