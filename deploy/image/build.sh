#!/usr/bin/env bash
# Builds the sessionbot image from an already-built static binary, with no
# registry and no daemon: buildah from scratch on the vfs storage driver.
# The image holds the binary, CA certificates, a passwd entry for the
# non-root user 65532 and the SQLite directory; no shell, no package manager.
#
#   deploy/image/build.sh BINARY OUTPUT.tar [VERSION] [COMMIT]
#
# writes an OCI archive (load it with `podman load` or `skopeo copy`) and
# asserts the image's config: user not root, entrypoint, no shell, size.
set -euo pipefail

binary=${1:?usage: build.sh BINARY OUTPUT.tar [VERSION] [COMMIT]}
output=${2:?usage: build.sh BINARY OUTPUT.tar [VERSION] [COMMIT]}
version=${3:-dev}
commit=${4:-unknown}
# Under 30 MiB both unpacked (what a node's disk holds) and compressed (what
# a registry stores and a node pulls). Unpacked it is 27 MiB, nearly all the
# static binary: the chart draws with golang.org/x/image and one font (0.5
# MiB), where gonum/plot's fonts alone took 4.6 MiB and made it 33 MiB.
max_bytes=$((30 * 1024 * 1024))
max_unpacked=$((30 * 1024 * 1024))
certs=${CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}

work=$(mktemp -d)
# Storage of its own: nothing is left in the machine's image store.
bh=(buildah --root "$work/root" --runroot "$work/run" --storage-driver vfs)
ctr=""
cleanup() {
  [ -n "$ctr" ] && "${bh[@]}" rm "$ctr" >/dev/null 2>&1 || true
  rm -rf "$work" 2>/dev/null || { chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"; }
}
trap cleanup EXIT

# (The run in the image's own root below catches a dynamic one too.)
if command -v file >/dev/null 2>&1 && ! file "$binary" | grep -q 'statically linked'; then
  echo "image: $binary is not a static binary (build it with CGO_ENABLED=0)" >&2
  exit 1
fi

mkdir -p "$work/rootfs/etc/ssl/certs" "$work/rootfs/usr/local/bin" "$work/state" "$work/tmp"
printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' >"$work/rootfs/etc/passwd"
printf 'root:x:0:\nnonroot:x:65532:\n' >"$work/rootfs/etc/group"
cp "$certs" "$work/rootfs/etc/ssl/certs/ca-certificates.crt"
install -m 0755 "$binary" "$work/rootfs/usr/local/bin/sessionbot"

ctr=$("${bh[@]}" from scratch)
"${bh[@]}" copy --quiet --chown 0:0 "$ctr" "$work/rootfs/" /
"${bh[@]}" copy --quiet --chown 65532:65532 "$ctr" "$work/state/" /var/lib/sessionbot
"${bh[@]}" copy --quiet --chown 0:0 "$ctr" "$work/tmp/" /tmp
"${bh[@]}" config \
  --user 65532:65532 \
  --workingdir /var/lib/sessionbot \
  --env PATH=/usr/local/bin \
  --env SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt \
  --entrypoint '["sessionbot"]' \
  --cmd serve \
  --port 9090 \
  --label org.opencontainers.image.title=sessionbot \
  --label "org.opencontainers.image.description=List and end login sessions on Qlik Sense, Commvault and Microsoft Teams from Slack" \
  --label org.opencontainers.image.source=https://github.com/sessionbot/sessionbot \
  --label "org.opencontainers.image.version=$version" \
  --label "org.opencontainers.image.revision=$commit" \
  --label "org.opencontainers.image.created=$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
  --label org.opencontainers.image.licenses=NOASSERTION \
  "$ctr"
"${bh[@]}" commit --quiet --format oci "$ctr" sessionbot:ci >/dev/null

# Assert what a cluster's admission policy would.
inspect() { "${bh[@]}" inspect --type image --format "$1" sessionbot:ci; }
user=$(inspect '{{.OCIv1.Config.User}}')
entrypoint=$(inspect '{{.OCIv1.Config.Entrypoint}}')
cmd=$(inspect '{{.OCIv1.Config.Cmd}}')
fail=0
check() { if [ "$2" = "$3" ]; then echo "image: $1 $2"; else echo "image: $1 is $2, want $3" >&2; fail=1; fi; }
check user "$user" 65532:65532
check entrypoint "$entrypoint" '[sessionbot]'
check cmd "$cmd" '[serve]'

mnt=$("${bh[@]}" mount "$ctr")
for sh in bin/sh bin/bash bin/busybox usr/bin/sh; do
  if [ -e "$mnt/$sh" ]; then echo "image: has a shell at /$sh" >&2; fail=1; fi
done
files=$(cd "$mnt" && find . -type f | sort | tr '\n' ' ')
echo "image: files $files"
owner=$(stat -c %u:%g "$mnt/var/lib/sessionbot")
check "/var/lib/sessionbot owner" "$owner" 65532:65532
unpacked=$(du -sb "$mnt" | cut -f1)
if [ "$unpacked" -ge "$max_unpacked" ]; then
  echo "image: $unpacked bytes unpacked, over the $max_unpacked limit" >&2; fail=1
else
  echo "image: $unpacked bytes ($((unpacked / 1024 / 1024)) MiB) unpacked, under $((max_unpacked / 1024 / 1024)) MiB"
fi
# No runtime here, but the root filesystem runs as it is: the binary needs
# nothing the image lacks, as the image's user.
if out=$(chroot --userspec=65532:65532 "$mnt" /usr/local/bin/sessionbot version 2>&1); then
  echo "image: runs as 65532 in its own root: $out"
else
  echo "image: the binary does not run in the image's root: $out" >&2; fail=1
fi
"${bh[@]}" umount "$ctr" >/dev/null

"${bh[@]}" push --quiet sessionbot:ci "oci-archive:$output:sessionbot:$version" >/dev/null
size=$(stat -c %s "$output")
if [ "$size" -ge "$max_bytes" ]; then
  echo "image: $size bytes, over the $max_bytes limit" >&2; fail=1
else
  echo "image: $size bytes ($((size / 1024 / 1024)) MiB) compressed in $output, under $((max_bytes / 1024 / 1024)) MiB"
fi
exit "$fail"
