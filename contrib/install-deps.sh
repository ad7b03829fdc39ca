#!/bin/bash
# install-deps.sh - install what postdesk needs to build, test and run
#
# Usage: bash contrib/install-deps.sh        (as root, Debian 12)
#
# Idempotent and non-interactive: installs only the Debian packages that are
# missing (running "apt-get update" only then), preselects "No configuration"
# for Postfix so that installing it neither writes /etc/postfix/main.cf nor
# starts a system Postfix, and creates the system user "postdesk" that the
# daemons drop to. Shared by contrib/run-tests.sh and contrib/quickstart.sh.
set -euo pipefail

PACKAGES=(
    build-essential cmake pkg-config
    libmilter-dev libdb5.3-dev libgmime-3.0-dev libssl-dev libesmtp-dev
    libcunit1-dev
    postfix swaks db5.3-util python3
    # used by the scripts themselves: ss, ps, openssl rand, runuser/flock
    iproute2 procps openssl util-linux
)

die() { echo "install-deps.sh: $*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "must run as root (it installs packages and creates a user)"
command -v dpkg-query >/dev/null || die "this script needs Debian (dpkg/apt)"

missing=()
for p in "${PACKAGES[@]}"; do
    st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    [ "$st" = "install ok installed" ] || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
    echo "install-deps.sh: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    # debconf-set-selections does not wait for the debconf lock: retry.
    ok=0
    for _ in $(seq 1 60); do
        if printf '%s\n' \
            "postfix postfix/main_mailer_type select No configuration" \
            "postfix postfix/mailname string localhost" |
            debconf-set-selections 2>/dev/null; then
            ok=1
            break
        fi
        sleep 5
    done
    [ "$ok" -eq 1 ] || die "debconf-set-selections kept failing (debconf locked?)"
    apt-get -q -o DPkg::Lock::Timeout=600 update </dev/null
    apt-get -q -y -o DPkg::Lock::Timeout=600 --no-install-recommends \
        install "${missing[@]}" </dev/null
fi

if ! getent passwd postdesk >/dev/null; then
    echo "install-deps.sh: creating system user postdesk"
    useradd --system --no-create-home --shell /usr/sbin/nologin postdesk
fi
exit 0
