#!/usr/bin/env bash
# Builds the project's images with buildah (no daemon, no registry) and prints their references:
#   hack/images/build.sh trainer|operator|pause [...]
# Base images come from debootstrap (Debian bookworm, minbase) instead of a registry; the trainer
# image is trainer-image/Dockerfile and the operator image operator/Dockerfile, the same files
# as in production, with only their base-image build arguments pointed at the local bases. Builds
# run with --network none: Python wheels come from the trainer's wheelhouse
# (trainer-image/hack/wheels.sh) and Maven artifacts from ~/.m2 (an overlay mount: the build's writes are discarded).
#
# Each image is tagged finetune.local/<name>:<content hash> (hash of the files it is built
# from and of its base), kept in buildah's store (with its layers, so a change to the trainer's
# source rebuilds only the layers after it) and exported once to an OCI archive under
#   ${FINETUNE_CACHE:-~/.cache/finetune-operator}/images/
# so a warm run rebuilds nothing. `hack/images/build.sh --archive NAME|REF` also prints the archive.
set -euo pipefail
shopt -s inherit_errexit # a failure inside $(...) stops the script too
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cache="${FINETUNE_CACHE:-$HOME/.cache/finetune-operator}"
images="$cache/images"
mkdir -p "$images"
log() { echo "[images] $*" >&2; }
mirror="${FINETUNE_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
suite=bookworm

need() {
  local missing=()
  command -v buildah >/dev/null || missing+=(buildah)
  command -v debootstrap >/dev/null || missing+=(debootstrap)
  command -v go >/dev/null || { log "go is required"; exit 1; }
  if [[ ${#missing[@]} -gt 0 ]]; then
    log "installing ${missing[*]} from Debian's packages"
    apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >&2
  fi
}

hash_files() { # files or directories -> one sha256 (of contents and relative paths)
  (cd "$repo" && find "$@" -type f ! -path '*/__pycache__/*' ! -name '*.pyc' ! -path '*/target/*' -print0 \
    | sort -z | xargs -0 sha256sum | sha256sum | cut -c1-16)
}

exists() { buildah inspect --type image "$1" >/dev/null 2>&1; }

# After a build: drop the image's older tags (their shared layers stay, cached for the next build).
prune_older() { # ref
  local old
  for old in $(buildah images --format '{{.Name}}:{{.Tag}}' --filter "reference=${1%:*}" 2>/dev/null); do
    [[ "$old" == "$1" ]] || buildah rmi "$old" >/dev/null 2>&1 || true
  done
}

# A Debian base image: debootstrap --variant=minbase with the given packages, imported into
# buildah's store as finetune.local/debian-<name>:<key>.
base() { # name packages(comma separated)
  local name="$1" pkgs="$2" key ref
  key="$(printf '%s %s %s' "$suite" "$pkgs" "$(basename "$mirror")" | sha256sum | cut -c1-12)"
  ref="finetune.local/debian-$name:$key"
  if ! exists "$ref"; then
    local root="$images/rootfs-$name-$key"
    log "debootstrap $suite ($pkgs) for $ref"
    rm -rf "$root"
    debootstrap --variant=minbase --include="$pkgs" "$suite" "$root" "$mirror" >&2
    rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb
    local c
    c="$(buildah from scratch)"
    tar -C "$root" -c . | buildah add "$c" - / >/dev/null 2>&1 || {
      # buildah 1.28 cannot read a tar from stdin: go through a file.
      tar -C "$root" -cf "$root.tar" . && buildah add "$c" "$root.tar" / >/dev/null && rm -f "$root.tar"; }
    buildah config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$c"
    buildah commit --quiet --rm "$c" "$ref" >/dev/null
    rm -rf "$root"
  fi
  echo "$ref"
}

archive() { # ref -> path of its OCI archive (exported once; older archives of the image removed)
  local ref="$1" file stem
  stem="$(echo "${ref#finetune.local/}" | cut -d: -f1 | tr '/' '_')"
  file="$images/$(echo "${ref#finetune.local/}" | tr ':/' '__').oci.tar"
  if [[ ! -f "$file" ]]; then
    find "$images" -maxdepth 1 -name "${stem}_*.oci.tar" ! -name "$(basename "$file")" -delete
    log "exporting $ref to $file"
    buildah push --quiet --disable-compression "$ref" "oci-archive:$file.tmp:$ref" >/dev/null
    mv "$file.tmp" "$file"
  fi
  echo "$file"
}

build_pause() {
  local key ref
  key="$(hash_files hack/images/pause)"
  ref="finetune.local/pause:$key"
  if ! exists "$ref"; then
    log "building $ref"
    local out="$images/pause-$key"
    mkdir -p "$out"
    (cd "$repo/hack/images/pause" && CGO_ENABLED=0 GOFLAGS=-buildvcs=false go build -trimpath -ldflags "-s -w" -o "$out/pause" .)
    local c
    c="$(buildah from scratch)"
    buildah copy "$c" "$out/pause" /pause >/dev/null
    buildah config --entrypoint '["/pause"]' --user 65535:65535 "$c"
    buildah commit --quiet --rm "$c" "$ref" >/dev/null
  fi
  echo "$ref"
}

python_base() { base python python3,python3-venv,ca-certificates; }
jdk_base() { base jdk openjdk-17-jdk-headless,maven,ca-certificates; }
jre_base() { base jre openjdk-17-jre-headless,ca-certificates; }

build_trainer() {
  local b key ref wheels
  b="$(python_base)"
  key="$(cd "$repo" && { echo "$b"; hash_files trainer-image/Dockerfile trainer-image/requirements.lock \
    trainer-image/job-config.schema.json trainer-image/pyproject.toml trainer-image/README.md \
    trainer-image/src; } | sha256sum | cut -c1-16)"
  ref="finetune.local/finetune-trainer:$key"
  if ! exists "$ref"; then
    wheels="$(bash "$repo/trainer-image/hack/wheels.sh")"
    log "building $ref from trainer-image/Dockerfile (base $b, wheels from $wheels, no network)"
    buildah bud --quiet --network none --layers \
      --build-arg "BASE_IMAGE=$b" \
      --build-arg "PIP_INSTALL_ARGS=--no-index --find-links /wheels" \
      -v "$wheels:/wheels:ro" \
      -t "$ref" -f "$repo/trainer-image/Dockerfile" "$repo/trainer-image" >&2
    prune_older "$ref"
  fi
  echo "$ref"
}

build_operator() {
  local bb br key ref
  bb="$(jdk_base)"
  br="$(jre_base)"
  key="$(cd "$repo" && { echo "$bb $br"; hash_files operator/Dockerfile .dockerignore pom.xml \
    crds/pom.xml crds/src crds/finetunejobs.finetune.dev-v1.yml operator/pom.xml operator/src/main; } \
    | sha256sum | cut -c1-16)"
  ref="finetune.local/finetune-operator:$key"
  if ! exists "$ref"; then
    # The image build runs offline: resolve what `package` needs into ~/.m2 first (a no-op when
    # it is there already).
    (cd "$repo" && mvn -B -ntp -q -Dmaven.test.skip=true -Dspotless.check.skip=true package >&2)
    log "building $ref from operator/Dockerfile (bases $bb, $br; Maven offline from ~/.m2)"
    buildah bud --quiet --network none --layers \
      --build-arg "BUILD_IMAGE=$bb" --build-arg "RUNTIME_IMAGE=$br" \
      --build-arg "MAVEN_ARGS=--offline" \
      -v "$HOME/.m2:/root/.m2:O" \
      -t "$ref" -f "$repo/operator/Dockerfile" "$repo" >&2
    prune_older "$ref"
  fi
  echo "$ref"
}

need
want_archive=0
if [[ "${1:-}" == "--archive" ]]; then want_archive=1; shift; fi
for what in "$@"; do
  case "$what" in
    trainer) ref="$(build_trainer)" ;;
    operator) ref="$(build_operator)" ;;
    pause) ref="$(build_pause)" ;;
    bases) python_base; jdk_base; jre_base; continue ;;
    finetune.local/*) exists "$what" || { log "no image $what in buildah's store"; exit 1; }; ref="$what" ;;
    *) log "unknown image $what (trainer, operator, pause)"; exit 2 ;;
  esac
  if [[ $want_archive == 1 ]]; then echo "$ref $(archive "$ref")"; else echo "$ref"; fi
done
