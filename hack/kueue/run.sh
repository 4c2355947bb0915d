#!/usr/bin/env bash
# Runs the real Kueue controller manager (built by hack/kueue/build.sh) as a process against the
# API server of KUBECONFIG, for tests: Kueue's CRDs applied first, leader election off, internal
# cert management off, only the batch/job integration, manageJobsWithoutQueueName false (Kueue
# touches only Jobs labelled kueue.x-k8s.io/queue-name).
#
#   KUBECONFIG=... hack/kueue/run.sh WORKDIR HEALTH_PORT WEBHOOK_PORT VISIBILITY_PORT
#
# Kueue's webhooks are NOT registered with the API server: the operator creates its Jobs already
# suspended and labelled (what Kueue's Job webhook would default), and registering URL webhooks on
# 127.0.0.1 would route every Job and Pod admission of the shared test cluster through this
# process, failing them all after it stops. Its webhook server still starts, so it gets a
# self-signed serving certificate in WORKDIR.
#
# With internal cert management off, Kueue reads its metrics serving certificate from the fixed
# path /etc/kueue/metrics/certs and exits without it. Nothing is written to the host's /etc: the
# manager runs in a private mount namespace in which a copy of /etc, holding that certificate, is
# mounted over /etc. Kueue's visibility API server (pending workloads and their positions) is off:
# it reads its certificate from /visibility and is not needed here. Ready when http://127.0.0.1:HEALTH_PORT/readyz answers 200.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
work="${1:?usage: run.sh WORKDIR HEALTH_PORT WEBHOOK_PORT VISIBILITY_PORT}"
health="${2:?health port}"
webhook="${3:?webhook port}"
visibility="${4:?visibility port}"
: "${KUBECONFIG:?KUBECONFIG must name the kubeconfig of the cluster}"
log() { echo "[kueue] $*" >&2; }

cache="$("$here/build.sh")"
mkdir -p "$work/certs"
if [[ ! -f "$work/certs/tls.crt" ]]; then
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=kueue-webhook" \
    -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" \
    -keyout "$work/certs/tls.key" -out "$work/certs/tls.crt" 2>/dev/null
fi

kubectl="${KUBECTL:-kubectl}"
"$kubectl" apply --server-side --force-conflicts -f "$cache/crds/" >&2
"$kubectl" create namespace kueue-system --dry-run=client -o yaml | "$kubectl" apply -f - >&2
for crd in "$cache"/crds/kueue.x-k8s.io_*.yaml; do
  n="$(basename "$crd" .yaml)"; n="${n#kueue.x-k8s.io_}.kueue.x-k8s.io"
  "$kubectl" wait --for=condition=Established --timeout=60s "crd/$n" >/dev/null
done

cat >"$work/config.yaml" <<YAML
apiVersion: config.kueue.x-k8s.io/v1beta2
kind: Configuration
namespace: kueue-system
health:
  healthProbeBindAddress: 127.0.0.1:$health
metrics:
  bindAddress: "0"
webhook:
  host: 127.0.0.1
  port: $webhook
  certDir: $work/certs
leaderElection:
  leaderElect: false
internalCertManagement:
  enable: false
manageJobsWithoutQueueName: false
integrations:
  frameworks:
  - batch/job
YAML

# The private /etc (see above), then the manager itself (exec: this process becomes it).
rm -rf "$work/etc" && mkdir -p "$work/etc"
cp -a /etc/. "$work/etc/" 2>/dev/null || true
mkdir -p "$work/etc/kueue/metrics/certs"
cp "$work/certs/tls.crt" "$work/certs/tls.key" "$work/etc/kueue/metrics/certs/"
userns=()
[[ "$(id -u)" == 0 ]] || userns=(--map-root-user)
log "starting $cache/bin/kueue (health 127.0.0.1:$health)"
exec unshare --mount --propagation private "${userns[@]}" \
  sh -c 'mount --bind "$1" /etc && shift && exec "$@"' sh "$work/etc" \
  "$cache/bin/kueue" --config="$work/config.yaml" --visibility-server-port="$visibility" \
  --feature-gates=VisibilityOnDemand=false
