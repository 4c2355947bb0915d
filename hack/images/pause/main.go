// Command pause is the pod sandbox's init process for local nodes: it holds the pod's namespaces
// and exits on SIGINT or SIGTERM. It is the same job as Kubernetes' own pause image, built from
// source here because the local cluster reaches no container registry.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	c := make(chan os.Signal, 1)
	signal.Notify(c, syscall.SIGINT, syscall.SIGTERM)
	// Children of PID 1 are reaped by the kernel only once their parent waits; as the sandbox's
	// PID 1 (shared process namespace), reap them.
	signal.Notify(c, syscall.SIGCHLD)
	for s := range c {
		if s == syscall.SIGCHLD {
			for {
				var ws syscall.WaitStatus
				pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
				if pid <= 0 || err != nil {
					break
				}
			}
			continue
		}
		os.Exit(0)
	}
}
