// Command coredns is CoreDNS with the kubernetes plugin and nothing else that answers: names in
// the cluster domain come from the API server, every other name is NXDOMAIN. There is no forward
// plugin, so no query ever leaves the machine. bind (the address to listen on) is server setup,
// not an answer.
package main

import (
	"context"

	"github.com/coredns/caddy"
	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/coremain"
	"github.com/coredns/coredns/plugin"
	_ "github.com/coredns/coredns/plugin/bind"
	_ "github.com/coredns/coredns/plugin/kubernetes"
	"github.com/miekg/dns"
)

func init() {
	// The plugin chain, in order; CoreDNS's own list (forward, cache, hosts, ...) is not linked in.
	dnsserver.Directives = []string{"bind", "kubernetes", "nxdomain"}
	plugin.Register("nxdomain", func(c *caddy.Controller) error {
		c.Next()
		if c.NextArg() {
			return plugin.Error("nxdomain", c.ArgErr())
		}
		dnsserver.GetConfig(c).AddPlugin(func(plugin.Handler) plugin.Handler { return nxdomain{} })
		return nil
	})
}

// nxdomain ends the chain: a name the kubernetes plugin does not serve does not exist here.
type nxdomain struct{}

func (nxdomain) Name() string { return "nxdomain" }

func (nxdomain) ServeDNS(_ context.Context, w dns.ResponseWriter, r *dns.Msg) (int, error) {
	m := new(dns.Msg)
	m.SetRcode(r, dns.RcodeNameError)
	m.Authoritative = true
	_ = w.WriteMsg(m)
	return dns.RcodeNameError, nil
}

func main() { coremain.Run() }
