// Command canon prints a stream of Kubernetes manifests in a canonical form, so that two
// renderings of the same objects (kustomize and Helm) compare equal line for line: one object
// per block, sorted by kind, namespace and name, keys sorted, indented JSON; YAML comments,
// document separators, empty documents and key order do not matter.
//
//	canon FILE   (- for standard input)
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"regexp"
	"sort"

	"sigs.k8s.io/yaml"
)

var separator = regexp.MustCompile(`(?m)^---[ \t]*(#.*)?$`)

type object struct {
	key  string
	body []byte
}

func field(m map[string]interface{}, path ...string) string {
	var cur interface{} = m
	for _, p := range path {
		mm, ok := cur.(map[string]interface{})
		if !ok {
			return ""
		}
		cur = mm[p]
	}
	s, _ := cur.(string)
	return s
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: canon FILE")
		os.Exit(2)
	}
	var in io.Reader = os.Stdin
	if os.Args[1] != "-" {
		f, err := os.Open(os.Args[1])
		if err != nil {
			fmt.Fprintln(os.Stderr, "canon:", err)
			os.Exit(1)
		}
		defer f.Close()
		in = f
	}
	data, err := io.ReadAll(bufio.NewReader(in))
	if err != nil {
		fmt.Fprintln(os.Stderr, "canon:", err)
		os.Exit(1)
	}
	var objs []object
	seen := map[string]bool{}
	for i, doc := range separator.Split(string(data), -1) {
		var m map[string]interface{}
		if err := yaml.Unmarshal([]byte(doc), &m); err != nil {
			fmt.Fprintf(os.Stderr, "canon: document %d: %v\n", i+1, err)
			os.Exit(1)
		}
		if len(m) == 0 {
			continue
		}
		key := fmt.Sprintf("%s %s %s/%s", field(m, "apiVersion"), field(m, "kind"),
			field(m, "metadata", "namespace"), field(m, "metadata", "name"))
		if seen[key] {
			fmt.Fprintf(os.Stderr, "canon: %s appears twice\n", key)
			os.Exit(1)
		}
		seen[key] = true
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		if err := enc.Encode(m); err != nil {
			fmt.Fprintln(os.Stderr, "canon:", err)
			os.Exit(1)
		}
		objs = append(objs, object{key, buf.Bytes()})
	}
	sort.Slice(objs, func(i, j int) bool { return objs[i].key < objs[j].key })
	w := bufio.NewWriter(os.Stdout)
	defer w.Flush()
	for _, o := range objs {
		fmt.Fprintf(w, "### %s\n%s", o.key, o.body)
	}
}
