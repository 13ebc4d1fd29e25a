#!/usr/bin/env bash
# rotor map: prints pycocotools' summary and VOC APs; bad input is a one-line error with a non-zero exit.
set -euo pipefail
rotor=$1
dir=$(mktemp -d); trap 'rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
printf '{"images":[{"id":1}],"categories":[{"id":1,"name":"a"}],"annotations":[{"id":1,"image_id":1,"category_id":1,"bbox":[0,0,10,10],"area":100}]}' >"$dir/gt.json"
printf '[{"image_id":1,"category_id":1,"bbox":[0,0,10,10],"score":0.9}]' >"$dir/dt.json"
out=$("$rotor" map --gt "$dir/gt.json" --dt "$dir/dt.json" --metric coco --json "$dir/out.json")
[ "$(wc -l <<<"$out")" -eq 12 ] || fail "not 12 lines: $out"
grep -qF ' Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ] = 1.000' <<<"$out" || fail "$out"
grep -q '"stats"' "$dir/out.json" || fail "no json"
mkdir "$dir/ann"
echo '<annotation><object><name>cat</name><difficult>0</difficult><bndbox><xmin>0</xmin><ymin>0</ymin><xmax>9</xmax><ymax>9</ymax></bndbox></object></annotation>' >"$dir/ann/im1.xml"
echo 'im1 0.8 0 0 9 9' >"$dir/det_cat.txt"
out=$("$rotor" map --gt "$dir/ann" --dt "$dir/det_{}.txt" --metric voc07)
grep -q 'Mean AP = 1.0000' <<<"$out" || fail "$out"
expect_error() {  # expect_error TEXT ARGS...: one line "rotor: error: ...TEXT..." and a non-zero exit
  local want=$1; shift
  set +e; err=$("$rotor" map "$@" 2>&1 >/dev/null); code=$?; set -e
  [ $code -ne 0 ] || fail "accepted: $*"
  [[ "$err" == "rotor: error: "*"$want"* ]] || fail "unexpected error for $*: $err"
  [ "$(wc -l <<<"$err")" -eq 1 ] || fail "not one line: $err"
}
printf '[{' >"$dir/bad.json"
expect_error "malformed JSON" --gt "$dir/gt.json" --dt "$dir/bad.json" --metric coco
printf '[{"image_id":7,"category_id":1,"bbox":[0,0,1,1],"score":1}]' >"$dir/d2.json"
expect_error "unknown image id 7" --gt "$dir/gt.json" --dt "$dir/d2.json" --metric coco
printf '[{"image_id":1,"category_id":9,"bbox":[0,0,1,1],"score":1}]' >"$dir/d3.json"
expect_error "unknown category id 9" --gt "$dir/gt.json" --dt "$dir/d3.json" --metric coco
printf '[{"image_id":1,"category_id":1,"bbox":[0,0,-1,1],"score":1}]' >"$dir/d4.json"
expect_error "negative size" --gt "$dir/gt.json" --dt "$dir/d4.json" --metric coco
echo '<annotation><object>' >"$dir/ann/im2.xml"
expect_error "malformed XML" --gt "$dir/ann" --dt "$dir/det_{}.txt" --metric voc
expect_error "metric" --gt "$dir/gt.json" --dt "$dir/dt.json" --metric nope
echo ok
