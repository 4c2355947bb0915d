# FineTune Operator. The two commands that matter:
#   make test   everything CI runs: unit tests, integration tests against the local control plane,
#               ROUGE parity with rouge-score, and the trainer's pytest suite
#   make dev    a local control plane with simulated GPU nodes, the CRD, the operator, and the
#               quickstart FineTuneJob
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
MVN ?= mvn -B -ntp
CACHE ?= $(HOME)/.cache/finetune-operator
IT_CLUSTER ?= finetune-it

.PHONY: test java-test trainer-test controlplane crds build dev dev-down fmt

test: java-test trainer-test

controlplane:
	hack/controlplane/build.sh >/dev/null

build:
	$(MVN) -q -DskipTests -DskipITs package

# Unit tests (*Test) and integration tests (*IT) against a real kube-apiserver, scheduler,
# controller-manager and kwok nodes. The cluster is started once and removed afterwards.
java-test: controlplane
	export ROUGE_PYTHON="$$(hack/rouge-parity/setup.sh 2>/dev/null || true)"; \
	kubeconfig="$$(hack/cluster.sh up $(IT_CLUSTER))"; \
	trap 'hack/cluster.sh down $(IT_CLUSTER)' EXIT; \
	FINETUNE_IT_KUBECONFIG="$$kubeconfig" $(MVN) verify

trainer-test:
	bash trainer-image/hack/test.sh

# Regenerate the committed CRD from the Java types.
crds:
	$(MVN) -q -pl crds install -Dcrd.update=true

fmt:
	$(MVN) -q spotless:apply

dev:
	bash hack/dev.sh

dev-down:
	bash hack/dev.sh down
