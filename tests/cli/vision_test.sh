#!/usr/bin/env bash
# `rotor vision`: a few training steps of each model on a small subset write a complete run directory;
# eval reads it back; sample (and reconstruct, for vqvae and vqgan) writes a PNG grid that an independent reader (Python's zlib/struct) decodes to
# the right size; bad input (unknown model, missing data set, wrong directories, a classifier asked for
# samples, a vqvae asked for samples) gets a one-line `rotor: error:`, a non-zero exit and no output files.
set -euo pipefail
rotor=$1
fail() { echo "FAIL: $*"; exit 1; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
small=(--train-limit 256 --test-limit 40 --batch 32 --max-steps 8 --threads 1)

"$rotor" vision train --model cnn --out "$tmp/cnn" "${small[@]}" --model-config '{"channels1": 4, "channels2": 4, "hidden": 16}' \
  >"$tmp/cnn.out" 2>/dev/null
for f in config.json model.safetensors metrics.csv metrics.json loss.svg; do [ -s "$tmp/cnn/$f" ] || fail "cnn: no $f"; done
grep -q '^test_accuracy ' "$tmp/cnn.out" || fail "cnn output: $(cat "$tmp/cnn.out")"
"$rotor" vision eval --model "$tmp/cnn" --test-limit 40 | grep -q '^test_accuracy ' || fail "eval cnn"

# PNG check: signature, IHDR size, the IDAT stream inflates to height * (1 + width) bytes, CRCs hold.
check_png() {
  /usr/bin/python3 - "$1" "$2" "$3" <<'PY'
import struct, sys, zlib
path, w, h = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
data = open(path, "rb").read()
assert data[:8] == b"\x89PNG\r\n\x1a\n", "signature"
pos, idat, size = 8, b"", None
while pos < len(data):
    n, kind = struct.unpack(">I4s", data[pos:pos + 8])
    body = data[pos + 8:pos + 8 + n]
    assert struct.unpack(">I", data[pos + 8 + n:pos + 12 + n])[0] == zlib.crc32(kind + body), "crc"
    if kind == b"IHDR": size = struct.unpack(">IIBB", body[:10])
    if kind == b"IDAT": idat += body
    pos += 12 + n
assert size == (w, h, 8, 0), f"IHDR {size}"
assert len(zlib.decompress(idat)) == h * (1 + w), "pixel data"
PY
}
for m in vae gumbel-vae nade made; do
  "$rotor" vision train --model $m --out "$tmp/$m" "${small[@]}" --model-config '{"hidden": 32}' >"$tmp/$m.out" 2>/dev/null
  for f in config.json model.safetensors metrics.csv metrics.json loss.svg; do [ -s "$tmp/$m/$f" ] || fail "$m: no $f"; done
  grep -q '^test_nll_nats ' "$tmp/$m.out" || fail "$m output: $(cat "$tmp/$m.out")"
  "$rotor" vision sample --model "$tmp/$m" --out "$tmp/$m.png" --count 6 --columns 3 >/dev/null
  # 3 columns x 2 rows of 28x28 tiles with 2-pixel borders: 3*30+2 = 92 by 2*30+2 = 62.
  check_png "$tmp/$m.png" 92 62 || fail "$m png"
done

# vqvae: metrics, reconstruct writes test images above reconstructions (3 pairs of rows of 3 -> 92 by 182),
# sample refuses (a VQ-VAE has no prior) and points at reconstruct.
"$rotor" vision train --model vqvae --out "$tmp/vq" "${small[@]}" \
  --model-config '{"channels": 4, "codebook_size": 16, "code_dim": 4}' >"$tmp/vq.out" 2>/dev/null
for f in config.json model.safetensors metrics.csv metrics.json loss.svg; do [ -s "$tmp/vq/$f" ] || fail "vqvae: no $f"; done
for k in test_mse codebook_perplexity codes_used; do grep -q "^$k " "$tmp/vq.out" || fail "vqvae output: $(cat "$tmp/vq.out")"; done
"$rotor" vision eval --model "$tmp/vq" --test-limit 40 | grep -q '^test_mse ' || fail "eval vqvae"
"$rotor" vision reconstruct --model "$tmp/vq" --out "$tmp/vq.png" --count 9 --columns 3 >/dev/null
check_png "$tmp/vq.png" 92 182 || fail "vqvae reconstruct png"

# vqgan: both stages in one run (stage 1 for 5 steps, GAN term from step 2, the prior for 3): every file, the
# stages' columns in metrics.csv, prior NLL in metrics.json, sample and reconstruct PNGs of the right size.
vqg_config='{"channels": 4, "codebook_size": 16, "code_dim": 4, "d_channels": 4, "stage1_steps": 5, "disc_start": 2, "prior_layers": 1, "prior_dim": 16, "prior_heads": 2}'
"$rotor" vision train --model vqgan --out "$tmp/vqg" "${small[@]}" --model-config "$vqg_config" >"$tmp/vqg.out" 2>/dev/null
for f in config.json model.safetensors metrics.csv metrics.json loss.svg; do [ -s "$tmp/vqg/$f" ] || fail "vqgan: no $f"; done
for k in test_mse codebook_perplexity test_prior_nll_nats; do grep -q "\"$k\"" "$tmp/vqg/metrics.json" || fail "vqgan metrics.json: $k"; done
for c in autoencoder_loss discriminator_loss prior_loss adaptive_weight rec_loss; do
  head -1 "$tmp/vqg/metrics.csv" | tr , '\n' | grep -qx "$c" || fail "vqgan metrics.csv has no $c: $(head -1 "$tmp/vqg/metrics.csv")"
done
"$rotor" vision sample --model "$tmp/vqg" --out "$tmp/vqg.png" --count 6 --columns 3 >/dev/null
check_png "$tmp/vqg.png" 92 62 || fail "vqgan sample png"
"$rotor" vision reconstruct --model "$tmp/vqg" --out "$tmp/vqgr.png" --count 3 --columns 3 >/dev/null
check_png "$tmp/vqgr.png" 92 62 || fail "vqgan reconstruct png"

# gumbel-vae --hard: recorded in config.json; the temperature reached its end value.
"$rotor" vision train --model gumbel-vae --hard --out "$tmp/ghard" "${small[@]}" --model-config '{"hidden": 16}' >/dev/null 2>&1
grep -q '"hard": true' "$tmp/ghard/config.json" || fail "--hard not in config.json"
grep -q '"final_temperature": 0.5' "$tmp/ghard/metrics.json" || fail "gumbel-vae temperature: $(cat "$tmp/ghard/metrics.json")"
grep -q '"test_nll_nats"' "$tmp/ghard/metrics.json" || fail "gumbel-vae metrics.json"

# fid_rotor: a figure and the class spread on stdout and in --json; the floor from training images.
"$rotor" vision fid --model "$tmp/vae" --classifier "$tmp/cnn" --count 50 --test-limit 40 --json "$tmp/fid.json" \
  >"$tmp/fid.out"
grep -q '^fid_rotor [0-9]' "$tmp/fid.out" || fail "fid output: $(cat "$tmp/fid.out")"
/usr/bin/python3 - "$tmp/fid.json" <<'PY' || fail "fid json: $(cat "$tmp/fid.json")"
import json, sys
j = json.load(open(sys.argv[1]))
assert j["fid_rotor"] > 0 and j["samples"] == 50 and j["references"] == 40 and j["scored"] == "vae", j
assert len(j["class_fractions"]) == 10 and abs(sum(j["class_fractions"]) - 1) < 1e-9, j
assert 0 <= j["class_entropy_ratio"] <= 1, j
PY
"$rotor" vision fid --train-images --binarized --classifier "$tmp/cnn" --count 40 --test-limit 40 \
  | grep -q '^scored "training images (binarized)"' || fail "fid --train-images"

# GANs: metrics.csv carries the critic's / discriminator's and the generator's losses (wgan-gp: the
# Wasserstein estimate, plotted in wasserstein.svg); the test figures; a sample grid.
gan_config='{"z": 8, "g_channels": 4, "d_channels": 4}'
"$rotor" vision train --model dcgan --out "$tmp/dcgan" "${small[@]}" --model-config "$gan_config" >"$tmp/dcgan.out" 2>/dev/null
head -1 "$tmp/dcgan/metrics.csv" | grep -q 'discriminator_loss,generator_loss' || fail "dcgan metrics.csv: $(head -1 "$tmp/dcgan/metrics.csv")"
grep -q '^test_discriminator_accuracy ' "$tmp/dcgan.out" || fail "dcgan output: $(cat "$tmp/dcgan.out")"
"$rotor" vision train --model wgan-gp --out "$tmp/wgan" "${small[@]}" --model-config "$gan_config" >"$tmp/wgan.out" 2>/dev/null
head -1 "$tmp/wgan/metrics.csv" | grep -q 'critic_loss,generator_loss,gradient_penalty,wasserstein' ||
  fail "wgan-gp metrics.csv: $(head -1 "$tmp/wgan/metrics.csv")"
grep -q 'Wasserstein' "$tmp/wgan/wasserstein.svg" || fail "wgan-gp: no wasserstein.svg"
grep -q '^test_wasserstein_estimate ' "$tmp/wgan.out" || fail "wgan-gp output: $(cat "$tmp/wgan.out")"
for m in dcgan wgan; do
  "$rotor" vision sample --model "$tmp/$m" --out "$tmp/$m.png" --count 6 --columns 3 >/dev/null
  check_png "$tmp/$m.png" 92 62 || fail "$m png"
done

expect_error() {  # expect_error PATTERN ARGS...
  local pattern=$1; shift
  code=0; err=$("$rotor" "$@" 2>&1 >/dev/null) || code=$?
  [ "$code" -ne 0 ] || fail "accepted: $*"
  [[ "$err" == "rotor: error: "*"$pattern"* ]] && [ "$(wc -l <<<"$err")" -eq 1 ] || fail "error for $*: $err"
}
expect_error "unknown model" vision train --model resnet --out "$tmp/x"
expect_error "fashion" vision train --model cnn --out "$tmp/x" --data "$tmp/nowhere"
[ ! -e "$tmp/x" ] || fail "a failed train left $tmp/x"
touch "$tmp/file"
expect_error "not a directory" vision train --model cnn --out "$tmp/file"
mkdir "$tmp/foreign"; echo keep >"$tmp/foreign/notes.txt"
expect_error "not overwriting" vision train --model cnn --out "$tmp/foreign"
expect_error "not a directory" vision train --model cnn --out "$tmp/missing/run"
expect_error "unknown config key" vision train --model vae --out "$tmp/x" --model-config '{"latnet": 3}'
expect_error "--hard applies to gumbel-vae only" vision train --model vae --hard --out "$tmp/x"
expect_error "outside" vision train --model gumbel-vae --out "$tmp/x" --model-config '{"classes": 1}'
expect_error "unknown config key \"n_critic\"" vision train --model dcgan --out "$tmp/x" --model-config '{"n_critic": 5}'
expect_error "outside" vision train --model wgan-gp --out "$tmp/x" --model-config '{"n_critic": 0}'
expect_error "its own Adam" vision train --model wgan-gp --out "$tmp/x" --lr 0.01
expect_error "not JSON" vision train --model vae --out "$tmp/x" --model-config '{'
expect_error "not a directory" vision eval --model "$tmp/nowhere"
expect_error "no rotor vision run" vision eval --model "$tmp/foreign"
expect_error "outside" vision train --model vqvae --out "$tmp/x" --model-config '{"decay": 1.5}'
expect_error "decay" vision train --model vqvae --out "$tmp/x" --model-config '{"decay": 1}'
expect_error "epsilon" vision train --model vqvae --out "$tmp/x" --model-config '{"epsilon": 0}'
expect_error "unknown config key" vision train --model vqvae --out "$tmp/x" --model-config '{"codes": 8}'
expect_error "phase prior never runs" vision train --model vqgan --out "$tmp/x" "${small[@]}" --model-config '{"stage1_steps": 8, "disc_start": 2}'
expect_error "must be below" vision train --model vqgan --out "$tmp/x" --model-config '{"stage1_steps": 10, "disc_start": 10}'
expect_error "not a multiple" vision train --model vqgan --out "$tmp/x" --model-config '{"prior_dim": 30, "prior_heads": 4}'
expect_error "unknown config key" vision train --model vqgan --out "$tmp/x" --model-config '{"gan_weight": 1}'
expect_error "its own Adam" vision train --model vqgan --out "$tmp/x" --lr 0.01
[ ! -e "$tmp/x" ] || fail "a failed vqgan train left $tmp/x"
expect_error "no prior" vision sample --model "$tmp/vq" --out "$tmp/vs.png"
expect_error "not an autoencoder" vision reconstruct --model "$tmp/vae" --out "$tmp/vr.png"
expect_error "does not divide" vision reconstruct --model "$tmp/vq" --out "$tmp/vr.png" --count 10 --columns 3
[ ! -e "$tmp/vs.png" ] && [ ! -e "$tmp/vr.png" ] || fail "a failed sample/reconstruct left a file"
expect_error "classifier" vision sample --model "$tmp/cnn" --out "$tmp/c.png"
expect_error ".png" vision sample --model "$tmp/vae" --out "$tmp/v.jpg"
[ ! -e "$tmp/c.png" ] && [ ! -e "$tmp/v.jpg" ] || fail "a failed sample left a file"
expect_error "is not a cnn run" vision fid --model "$tmp/vae" --classifier "$tmp/made" --count 10 --json "$tmp/f2.json"
expect_error "give --model DIR or --train-images" vision fid --classifier "$tmp/cnn"
expect_error "--binarized applies to --train-images only" vision fid --model "$tmp/vae" --classifier "$tmp/cnn" --binarized
expect_error "excludes" vision fid --model "$tmp/vae" --train-images --classifier "$tmp/cnn"
expect_error "classifier" vision fid --model "$tmp/cnn" --classifier "$tmp/cnn" --count 10
[ ! -e "$tmp/f2.json" ] || fail "a failed fid left its json"
echo ok
