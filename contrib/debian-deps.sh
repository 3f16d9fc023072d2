#!/bin/sh
# Installs what sshx needs to build and to run its tests on Debian 12 (run as root).
set -e
export DEBIAN_FRONTEND=noninteractive
if [ "$(id -u)" -ne 0 ]; then
	echo "debian-deps.sh: run as root (it calls apt-get)" >&2
	exit 2
fi
apt-get update -qq
apt-get install -y -qq --no-install-recommends \
	autoconf automake libtool make gcc pkg-config \
	libgcrypt20-dev libsecret-1-dev libsqlite3-dev check \
	openssh-client openssh-server python3-paramiko \
	dbus gnome-keyring libsecret-tools libglib2.0-bin sqlite3 procps util-linux systemd groff-base bash bash-completion \
	clang libclang-rt-dev valgrind >/dev/null
