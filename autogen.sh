#!/bin/sh
# Generates the configure script and the build-aux helpers from a git checkout.
set -e
cd "$(dirname "$0")"
mkdir -p m4 build-aux
exec autoreconf --force --install --warnings=all
