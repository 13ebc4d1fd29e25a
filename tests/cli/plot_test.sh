#!/usr/bin/env bash
# `rotor plot` turns a metrics CSV into an SVG that a real XML parser (Python's xml.etree) accepts,
# with one polyline per series; bad input gets one error line and leaves an existing plot untouched.
set -uo pipefail
rotor=$1
fail() { echo "FAIL: $*"; exit 1; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
{
  echo "step,train_loss,val_loss"
  for i in $(seq 1 60); do
    if (( i % 10 == 0 )); then v=$(awk "BEGIN{print 3/($i+1)+0.4}"); else v=""; fi
    echo "$i,$(awk "BEGIN{print 3/($i+1)+0.2}"),$v"
  done
} > "$tmp/metrics.csv"
"$rotor" plot "$tmp/metrics.csv" --out "$tmp/loss.svg" --title "loss & <more>" || fail "plot exited non-zero"
/usr/bin/python3 - "$tmp/loss.svg" <<'PY' || fail "SVG check failed"
import sys, xml.etree.ElementTree as ET
ns = {"s": "http://www.w3.org/2000/svg"}
root = ET.parse(sys.argv[1]).getroot()
assert root.tag == "{http://www.w3.org/2000/svg}svg", root.tag
series = root.findall("s:g[@class='series']", ns)
assert [g.get("data-name") for g in series] == ["train_loss", "val_loss"], series
counts = [len(g.find("s:polyline", ns).get("points").split()) for g in series]
assert counts == [60, 6], counts
texts = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]
assert "loss & <more>" in texts and "step" in texts and "val_loss" in texts, texts
assert len(root.findall("s:g[@class='x-ticks']/s:text", ns)) >= 3
assert len(root.findall("s:g[@class='y-ticks']/s:text", ns)) >= 3
PY
before=$(md5sum < "$tmp/loss.svg")
err=$("$rotor" plot "$tmp/metrics.csv" --out "$tmp/loss.svg" --y nope 2>&1); [ $? -ne 0 ] || fail "unknown column accepted"
[[ "$err" == "rotor: error: metrics: no column 'nope'"* ]] || fail "unexpected error: $err"
[ "$(wc -l <<<"$err")" -eq 1 ] || fail "error is not one line: $err"
[ "$(md5sum < "$tmp/loss.svg")" == "$before" ] || fail "existing plot changed"
err=$("$rotor" plot "$tmp/missing.csv" --out "$tmp/x.svg" 2>&1); [ $? -ne 0 ] || fail "missing file accepted"
[[ "$err" == "rotor: error: cannot read '$tmp/missing.csv'"* ]] || fail "unexpected error: $err"
[ ! -e "$tmp/x.svg" ] || fail "output written on error"
echo ok
