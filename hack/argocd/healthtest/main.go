// Command healthtest runs Argo CD resource health checks the way Argo CD runs them and checks
// them against their tests, in Argo CD's layout:
//
//	<dir>/health.lua        the check: reads the global obj, returns {status = ..., message = ...}
//	<dir>/health_test.yaml  tests: [{healthStatus: {status, message}, inputPath: testdata/x.yaml}]
//	<dir>/testdata/*.yaml   the objects
//
// Like Argo CD (util/lua), each object is decoded into a fresh Lua 5.1 state (gopher-lua) that
// opens only the package, base and table libraries, with a one-second deadline; the returned
// table must carry a valid health status. Every testdata file must be used by a test.
//
//	healthtest DIR...
package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"time"

	lua "github.com/yuin/gopher-lua"
	"sigs.k8s.io/yaml"
)

type healthStatus struct {
	Status  string `json:"status"`
	Message string `json:"message"`
}

type testCase struct {
	HealthStatus healthStatus `json:"healthStatus"`
	InputPath    string       `json:"inputPath"`
}

type testFile struct {
	Tests []testCase `json:"tests"`
}

var validStatus = map[string]bool{
	"Healthy": true, "Progressing": true, "Degraded": true,
	"Suspended": true, "Missing": true, "Unknown": true,
}

// decodeValue turns a decoded YAML/JSON value into a Lua value as Argo CD's decodeValue does.
func decodeValue(l *lua.LState, v interface{}) lua.LValue {
	switch x := v.(type) {
	case nil:
		return lua.LNil
	case bool:
		return lua.LBool(x)
	case float64:
		return lua.LNumber(x)
	case int64:
		return lua.LNumber(x)
	case string:
		return lua.LString(x)
	case []interface{}:
		t := l.NewTable()
		for _, e := range x {
			t.Append(decodeValue(l, e))
		}
		return t
	case map[string]interface{}:
		t := l.NewTable()
		for k, e := range x {
			t.RawSetString(k, decodeValue(l, e))
		}
		return t
	default:
		panic(fmt.Sprintf("unsupported value %T", v))
	}
}

func run(script string, obj map[string]interface{}) (healthStatus, error) {
	l := lua.NewState(lua.Options{SkipOpenLibs: true})
	defer l.Close()
	for _, lib := range []struct {
		name string
		fn   lua.LGFunction
	}{
		{lua.LoadLibName, lua.OpenPackage},
		{lua.BaseLibName, lua.OpenBase},
		{lua.TabLibName, lua.OpenTable},
	} {
		if err := l.CallByParam(lua.P{Fn: l.NewFunction(lib.fn), NRet: 0, Protect: true}, lua.LString(lib.name)); err != nil {
			return healthStatus{}, err
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	l.SetContext(ctx)
	l.SetGlobal("obj", decodeValue(l, obj))
	if err := l.DoString(script); err != nil {
		return healthStatus{}, err
	}
	ret, ok := l.Get(-1).(*lua.LTable)
	if !ok {
		return healthStatus{}, fmt.Errorf("expect table output from Lua script, not %s", l.Get(-1).Type())
	}
	hs := healthStatus{Status: lua.LVAsString(ret.RawGetString("status")), Message: lua.LVAsString(ret.RawGetString("message"))}
	if !validStatus[hs.Status] {
		return hs, fmt.Errorf("Lua returned an invalid health status %q", hs.Status)
	}
	return hs, nil
}

func checkDir(dir string) (passed, failed int, err error) {
	script, err := os.ReadFile(filepath.Join(dir, "health.lua"))
	if err != nil {
		return 0, 0, err
	}
	raw, err := os.ReadFile(filepath.Join(dir, "health_test.yaml"))
	if err != nil {
		return 0, 0, err
	}
	var tf testFile
	if err := yaml.UnmarshalStrict(raw, &tf); err != nil {
		return 0, 0, fmt.Errorf("%s/health_test.yaml: %w", dir, err)
	}
	if len(tf.Tests) == 0 {
		return 0, 0, fmt.Errorf("%s/health_test.yaml has no tests", dir)
	}
	used := map[string]bool{}
	for _, tc := range tf.Tests {
		used[filepath.Clean(tc.InputPath)] = true
		data, err := os.ReadFile(filepath.Join(dir, tc.InputPath))
		if err != nil {
			return passed, failed, err
		}
		var obj map[string]interface{}
		if err := yaml.Unmarshal(data, &obj); err != nil {
			return passed, failed, fmt.Errorf("%s: %w", tc.InputPath, err)
		}
		got, err := run(string(script), obj)
		switch {
		case err != nil:
			failed++
			fmt.Printf("FAIL %s: %v\n", tc.InputPath, err)
		case got != tc.HealthStatus:
			failed++
			fmt.Printf("FAIL %s:\n  want %s %q\n  got  %s %q\n", tc.InputPath, tc.HealthStatus.Status, tc.HealthStatus.Message, got.Status, got.Message)
		default:
			passed++
			fmt.Printf("ok   %s: %s %q\n", tc.InputPath, got.Status, got.Message)
		}
	}
	files, _ := filepath.Glob(filepath.Join(dir, "testdata", "*.yaml"))
	sort.Strings(files)
	for _, f := range files {
		rel, _ := filepath.Rel(dir, f)
		if !used[rel] {
			failed++
			fmt.Printf("FAIL %s is used by no test in health_test.yaml\n", rel)
		}
	}
	return passed, failed, nil
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: healthtest DIR...")
		os.Exit(2)
	}
	passed, failed := 0, 0
	for _, dir := range os.Args[1:] {
		p, f, err := checkDir(dir)
		if err != nil {
			fmt.Fprintln(os.Stderr, "healthtest:", err)
			os.Exit(1)
		}
		passed += p
		failed += f
	}
	fmt.Printf("%d passed, %d failed\n", passed, failed)
	if failed > 0 {
		os.Exit(1)
	}
}
