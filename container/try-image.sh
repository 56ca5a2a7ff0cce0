#!/usr/bin/env bash
# Builds the image from ./Dockerfile with podman and checks it from the outside (issue 9).
#
#   container/try-image.sh                                    # local Debian base: no registry needed
#   BASE=python:3.11.11-slim-bookworm container/try-image.sh  # the pinned base, where a registry answers
#
# With no BASE given it makes localhost/minutesd-base:bookworm from Debian packages (mmdebstrap:
# bookworm minbase + python3 3.11, python3-venv, ca-certificates, netbase, tzdata: what the
# python slim image carries) when that image is missing, builds localhost/minutesd:dev, then checks:
#   the image: non-root user, /data volume, health check `minutesd check`, no pip in the service venv;
#   `minutesd --version`; `minutesd demo` with no network at all;
#   `minutesd check`: ok on the embedded Maildir (and says so), exit 1 with the reason when the
#     configured server cannot be resolved or refuses the connection;
#   container/try_image.py: `run --once` against the test suite's Dovecot + Postfix on loopback
#     (--network host), the health check healthy then unhealthy when Dovecot stops, SIGTERM exit 0.
# Needs root (podman, and Postfix + Dovecot for the last part) and `make venv` for the helper.
set -euo pipefail
cd "$(dirname "$0")/.."

LOCAL_BASE=localhost/minutesd-base:bookworm
BASE=${BASE:-$LOCAL_BASE}
IMAGE=${IMAGE:-localhost/minutesd:dev}
PY=${PY:-.venv/bin/python}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
SECURITY=${DEBIAN_SECURITY:-http://deb.debian.org/debian-security}

say() { printf '\n== %s\n' "$*"; }
fail() {
    printf 'FAILED: %s\n' "$*" >&2
    exit 1
}

# --- tools -------------------------------------------------------------------------------------
need=()
command -v podman >/dev/null || need+=(podman)
command -v runc >/dev/null || need+=(runc)
[[ $BASE != "$LOCAL_BASE" ]] || command -v mmdebstrap >/dev/null || need+=(mmdebstrap)
if ((${#need[@]})); then
    [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null || fail "install ${need[*]} first"
    say "installing ${need[*]} (Debian packages)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null ||
        { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null; }
fi
podman --version

# --- the local base ----------------------------------------------------------------------------
if [[ $BASE == "$LOCAL_BASE" ]] && ! podman image exists "$LOCAL_BASE"; then
    say "making $LOCAL_BASE from Debian packages"
    tmp=$(mktemp -d)
    start=$(date +%s)
    mmdebstrap --quiet --variant=minbase \
        --include=python3,python3-venv,ca-certificates,netbase,tzdata \
        --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright' \
        --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/locale/*' \
        bookworm "$tmp/base.tar" \
        "deb $MIRROR bookworm main" "deb $MIRROR bookworm-updates main" \
        "deb $SECURITY bookworm-security main"
    podman import --change 'ENV LANG=C.UTF-8' --change 'CMD ["python3"]' \
        "$tmp/base.tar" "$LOCAL_BASE" >/dev/null
    rm -rf "$tmp"
    echo "base made in $(($(date +%s) - start)) s"
fi

# --- what this machine's container runtime needs -----------------------------------------------
# A sandbox may refuse what podman asks by default: crun rejects a hybrid cgroup v1/v2 host, and
# raising RLIMIT_NOFILE/NPROC needs CAP_SYS_RESOURCE. runc with the limits the shell already has
# works there. Elsewhere the first (empty) choice works and nothing is added.
OPTS=()
works() { podman run --rm --network none --no-healthcheck "$@" "$BASE" true >/dev/null 2>&1; }
if ! works; then
    nofile=$(ulimit -Hn)
    found=
    for nproc in $(ulimit -Hu) 65536 32768 4096; do
        try=(--runtime runc --ulimit "nofile=$nofile:$nofile" --ulimit "nproc=$nproc:$nproc")
        if works "${try[@]}"; then
            OPTS=("${try[@]}") found=1
            break
        fi
    done
    [[ $found ]] || { podman run --rm --network none "$BASE" true || true; fail "podman cannot start a container here"; }
fi
echo "podman options for this machine: ${OPTS[*]:-(none)}"

# --- build ------------------------------------------------------------------------------------
# --format docker: OCI images have no HEALTHCHECK. --layers=false: every build reinstalls the
# dependencies anyway (the sources come before them), so intermediate images would only pile up;
# the image this build replaces is removed too.
build=(--format docker --network host --layers=false --build-arg "BASE=$BASE" -t "$IMAGE")
previous=$(podman image inspect --format '{{.Id}}' "$IMAGE" 2>/dev/null || true)
# pip in the build stage trusts /etc/ssl/certs/ca-certificates.crt: give it this machine's bundle,
# so a TLS-inspecting proxy's CA counts too. A bind mount over a file the base has leaves no trace.
ca=${BUILD_CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}
[[ ! -f $ca ]] || build+=(-v "$ca:/etc/ssl/certs/ca-certificates.crt:ro")
say "podman build ${build[*]} ."
start=$(date +%s)
podman build "${OPTS[@]}" "${build[@]}" . >/tmp/minutesd-image-build.log 2>&1 ||
    { tail -40 /tmp/minutesd-image-build.log; fail "build (whole log: /tmp/minutesd-image-build.log)"; }
seconds=$(($(date +%s) - start))
current=$(podman image inspect --format '{{.Id}}' "$IMAGE")
[[ -z $previous || $previous == "$current" ]] || podman rmi "$previous" >/dev/null 2>&1 || true
size=$(podman image inspect --format '{{.Size}}' "$IMAGE")
base_size=$(podman image inspect --format '{{.Size}}' "$BASE")
echo "built $IMAGE on $BASE in $seconds s: $((size / 1000000)) MB (base $((base_size / 1000000)) MB)"

# --- checks -----------------------------------------------------------------------------------
run() { podman run --rm --no-healthcheck "${OPTS[@]}" "$@"; }

say "image configuration"
conf=$(podman image inspect --format \
    'user={{.Config.User}} volumes={{json .Config.Volumes}} entrypoint={{json .Config.Entrypoint}} cmd={{json .Config.Cmd}} health={{json .HealthCheck.Test}}' \
    "$IMAGE")
echo "$conf"
[[ $conf == *'user=minutesd volumes={"/data":{}} entrypoint=["minutesd"] cmd=["run"] health=["CMD","minutesd","check"]'* ]] ||
    fail "image configuration"
inside=$(run --network none --entrypoint sh "$IMAGE" -c \
    'id -u; stat -c %U /data; ls /opt/minutesd/lib/python3*/site-packages | grep -ciE "^(pip|setuptools)" || true;
     ls /etc/pip.conf 2>/dev/null || true; sha256sum < /etc/ssl/certs/ca-certificates.crt')
base_ca=$(run --network none --entrypoint sh "$BASE" -c 'sha256sum < /etc/ssl/certs/ca-certificates.crt')
echo "$inside" | head -3 | paste -sd' ' | sed 's/^/uid, owner of \/data, pip or setuptools in the venv: /'
[[ $(echo "$inside" | head -3 | paste -sd' ') == "10001 minutesd 0" ]] || fail "user, /data or venv: $inside"
[[ $(echo "$inside" | tail -1) == "$base_ca" ]] || fail "the build left something of the build's CA mount: $inside"

say "minutesd --version"
version=$(run --network none "$IMAGE" --version)
echo "$version"
[[ $version == "minutesd $(sed -n 's/^version = "\(.*\)"/\1/p' pyproject.toml)" ]] || fail "version"

say "minutesd demo (no network)"
demo=$(run --network none "$IMAGE" demo 2>/dev/null)
echo "$demo" | grep -m1 '已登记为'
echo "$demo" | grep 'on-time rate'
echo "$(echo "$demo" | grep -c '^   out:') mails printed"
[[ $demo == *'on-time rate'* && $(echo "$demo" | grep -c '^   out:') -ge 10 ]] || fail "demo"

say "minutesd check, no server configured (the embedded Maildir)"
out=$(run --network none "$IMAGE" check) || fail "check on the embedded transport: $out"
echo "$out" | grep -E 'inbound|outbound'
[[ $out == *'embedded mailbox'* ]] || fail "check does not say the mailbox is the embedded one"

say "minutesd check, a server that cannot be resolved"
set +e
out=$(run --network none -e MINUTESD_IMAP_HOST=mail.example.invalid -e MINUTESD_IMAP_USER=minutes \
    -e MINUTESD_IMAP_PASSWORD=x -e MINUTESD_SMTP_HOST=mail.example.invalid "$IMAGE" check)
code=$?
set -e
echo "$out" | grep -E '^FAIL'
echo "exit $code"
[[ $code == 1 && $out == *'FAIL inbound'* && $out == *'FAIL outbound'* ]] || fail "check with an unresolvable server"

say "minutesd check, a server that refuses the connection"
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
set +e
out=$(run --network host -e MINUTESD_IMAP_HOST=127.0.0.1 -e MINUTESD_IMAP_PORT="$port" -e MINUTESD_IMAP_TLS=none \
    -e MINUTESD_IMAP_USER=minutes -e MINUTESD_IMAP_PASSWORD=x -e MINUTESD_SMTP_HOST=127.0.0.1 \
    -e MINUTESD_SMTP_PORT="$port" -e MINUTESD_SMTP_TLS=none "$IMAGE" check)
code=$?
set -e
echo "$out" | grep -E '^FAIL'
echo "exit $code"
[[ $code == 1 && $out == *'refused the connection'* ]] || fail "check with a refusing server"

say "run --once against Dovecot + Postfix on loopback (container/try_image.py)"
[[ -x $PY ]] || fail "$PY is missing: make venv"
IMAGE=$IMAGE PODMAN_OPTS="${OPTS[*]}" "$PY" -m container.try_image

say "all checks passed: $IMAGE on $BASE, $((size / 1000000)) MB, built in $seconds s"
