# FineTune Operator. The two commands that matter:
#   make test   everything CI runs: unit tests, integration tests against the local control plane,
#               ROUGE parity with rouge-score, the install checks (Helm chart = kustomize, server-side
#               dry runs, the Argo CD health check, the GCP setup script), the trainer's pytest
#               suite, and the end-to-end tests on a real node (the operator and trainer images, real pods)
#   make dev    the local control plane with a real GPU-shaped node, the images, the operator
#               installed from deploy/, and the quickstart FineTuneJob trained for real (on CPU)
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
MVN ?= mvn -B -ntp
CACHE ?= $(HOME)/.cache/finetune-operator
IT_CLUSTER ?= finetune-it

E2E_ENV := FINETUNE_DEV_NAME=finetune-e2e FINETUNE_NODE_SUBNET=10.213.1 FINETUNE_DEV_GCS_PORT=4444

.PHONY: test java-test install-test trainer-test e2e-test monitoring-test images controlplane kueue crds build dev dev-down fmt

test: monitoring-test java-test install-test trainer-test e2e-test

# The alerts (promtool check rules, and promtool test rules with a test per alert) and the
# dashboard in deploy/monitoring. promtool is built from its Go module and cached.
monitoring-test:
	hack/monitoring/check.sh

controlplane:
	hack/controlplane/build.sh >/dev/null

# The Kueue controller manager for KueueIT, built from its Go module and cached by version.
kueue:
	hack/kueue/build.sh >/dev/null

build:
	$(MVN) -q -DskipTests -DskipITs package

# Unit tests (*Test) and integration tests (*IT) against a real kube-apiserver, scheduler,
# controller-manager and kwok nodes. The cluster is started once and removed afterwards.
java-test: controlplane kueue
	export ROUGE_PYTHON="$$(hack/rouge-parity/setup.sh 2>/dev/null || true)"; \
	kubeconfig="$$(hack/cluster.sh up $(IT_CLUSTER))"; \
	trap 'hack/cluster.sh down $(IT_CLUSTER)' EXIT; \
	FINETUNE_IT_KUBECONFIG="$$kubeconfig" $(MVN) verify

# The install: hack/gcp-setup.sh (dry run and apply against a recording gcloud, permission names
# against hack/gcp/permissions.txt); the Argo CD health check run by gopher-lua on testdata for
# every phase and reason in the code; helm lint, Helm chart = kustomize (base and GKE overlay),
# server-side dry runs, `kubectl apply -k deploy/` and `helm install` on a local API server of
# its own. helm, the Lua runner and the manifest normaliser are built from Go modules and cached.
install-test: controlplane
	hack/gcp/test.sh
	hack/argocd/test.sh
	hack/install/test.sh

trainer-test:
	bash trainer-image/hack/test.sh

# The trainer and operator images from their Dockerfiles (buildah, debootstrap bases; cached by
# content hash).
images: build
	hack/images/build.sh trainer operator

# End-to-end on real pods: a second local stack (hack/dev.sh up), the suite in hack/e2e, teardown.
e2e-test: controlplane
	venv="$$(bash trainer-image/hack/test.sh --venv)"; \
	trap '$(E2E_ENV) hack/dev.sh down' EXIT; \
	env="$$($(E2E_ENV) hack/dev.sh up)"; \
	export $$env PATH="$$(hack/controlplane/build.sh):$$PATH"; \
	"$$venv/bin/ruff" check --config trainer-image/pyproject.toml hack/e2e; \
	"$$venv/bin/python" -m pytest -p no:cacheprovider -v hack/e2e

# Regenerate the committed CRD from the Java types.
crds:
	$(MVN) -q -pl crds install -Dcrd.update=true
	cp crds/finetunejobs.finetune.dev-v1.yml charts/finetune-operator/crds/

fmt:
	$(MVN) -q spotless:apply

dev:
	bash hack/dev.sh

dev-down:
	bash hack/dev.sh down
