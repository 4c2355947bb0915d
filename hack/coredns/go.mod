module finetune.dev/hack/coredns

go 1.24

require github.com/coredns/coredns v1.14.7
