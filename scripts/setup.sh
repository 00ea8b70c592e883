#!/usr/bin/env bash
# Sets up a fresh Debian/Ubuntu machine that has Node 20 and npm: the apt packages the browser and WebGPU tests need,
# pnpm at the pinned version, and the workspace's dependencies. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive

# Chromium (headless browser tests; its SwiftShader Vulkan ICD also serves WebGPU in Node), the Vulkan loader that
# Dawn (the `webgpu` package) opens, and datasets.
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
[ -f /usr/lib/chromium/vk_swiftshader_icd.json ] || missing+=(chromium-common)
ldconfig -p | grep -q 'libvulkan.so.1' || missing+=(libvulkan1)
# Fashion-MNIST (Debian's dataset-fashion-mnist, the original idx files) for the recipes that train on it.
[ -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ] || missing+=(dataset-fashion-mnist)
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# pnpm at the version package.json pins.
pnpm_version=$(node -p "require('./package.json').packageManager.split('@')[1]")
if [ "$(pnpm --version 2>/dev/null || true)" != "$pnpm_version" ]; then
  npm install -g --no-audit --no-fund "pnpm@${pnpm_version}" >/dev/null
fi

pnpm install --frozen-lockfile
