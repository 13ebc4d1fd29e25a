#!/usr/bin/env bash
# Installs every Debian package that rotor's build, tests and demo need. Idempotent: apt-get runs
# only when something is missing. Nothing is downloaded from anywhere but Debian's archive.
set -euo pipefail

packages=(
  build-essential cmake ccache pkg-config       # toolchain
  libdnnl-dev ocl-icd-opencl-dev                # oneDNN: GEMM (f32, bf16 on AMX); its CMake package needs OpenCL
  libcli11-dev nlohmann-json3-dev               # command line, JSON
  libpugixml-dev                                # VOC XML annotations (rotor map)
  libgtest-dev libgmock-dev libbenchmark-dev    # tests, benchmarks
  libicu-dev                                    # Unicode properties for the tokenizer
  zlib1g-dev                                    # gzip-compressed IDX files
  libopenmpi-dev openmpi-bin                    # OpenMPI: mpirun -np N rotor train / boost / forest
  libpng-dev                                    # PNG sample grids (rotor vision sample)
  dataset-fashion-mnist                         # Fashion-MNIST (IDX, gzip) for rotor vision
  clang libclang-rt-14-dev                      # libFuzzer targets
  bible-kjv                                     # the demo's training text
  python3                                       # tests/cli/plot_test.sh parses the SVG with xml.etree
  python3-numpy                                 # tests read rotor's NPY/safetensors files back with numpy
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
fi
