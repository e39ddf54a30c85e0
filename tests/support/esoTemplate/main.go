// Renders ExternalSecret templates (`spec.target.template.data`) the way External Secrets Operator's template engine
// v2 does (external-secrets v2.9.0 runtime/template/v2/template.go `execute`): Go text/template, option
// missingkey=error, the default delimiters, executed over the Secret's data as strings. ESO's function map (sprig,
// its own) is not loaded: a template that calls a function other than text/template's builtin `index` is refused, so
// what this renders is what ESO renders.
//
// Stdin: {"data": {key: value}, "templates": {key: template}}. Stdout: {key: rendered}; or, exit 1,
// {"error": "..."} as ESO would report it.
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"text/template"
	"text/template/parse"
)

type input struct {
	Data      map[string]string `json:"data"`
	Templates map[string]string `json:"templates"`
}

func main() {
	var in input
	if err := json.NewDecoder(os.Stdin).Decode(&in); err != nil {
		fail(fmt.Errorf("reading the input: %w", err))
	}
	out := map[string]string{}
	for key, text := range in.Templates {
		rendered, err := execute(key, text, in.Data)
		if err != nil {
			fail(err)
		}
		out[key] = rendered
	}
	if err := json.NewEncoder(os.Stdout).Encode(out); err != nil {
		fail(err)
	}
}

// execute is ESO's: parse with missingkey=error, execute over the data; the errors are worded as ESO's.
func execute(key, text string, data map[string]string) (string, error) {
	t, err := template.New(key).Option("missingkey=error").Parse(text)
	if err != nil {
		return "", fmt.Errorf("unable to parse template at key %s: %s", key, err)
	}
	if err := modelled(t.Tree.Root); err != nil {
		return "", fmt.Errorf("template at key %s: %s", key, err)
	}
	buf := bytes.NewBuffer(nil)
	if err := t.Execute(buf, data); err != nil {
		return "", fmt.Errorf("unable to execute template at key %s: %s", key, err)
	}
	return buf.String(), nil
}

// modelled refuses what would need ESO's function map: only text, `.KEY` and `index . "KEY"` actions.
func modelled(list *parse.ListNode) error {
	for _, node := range list.Nodes {
		switch n := node.(type) {
		case *parse.TextNode:
		case *parse.ActionNode:
			if len(n.Pipe.Decl) > 0 || len(n.Pipe.Cmds) != 1 {
				return fmt.Errorf("%s is not a single value", n)
			}
			args := n.Pipe.Cmds[0].Args
			if len(args) == 1 {
				if _, ok := args[0].(*parse.FieldNode); ok {
					continue
				}
			}
			if len(args) == 3 {
				ident, isIdent := args[0].(*parse.IdentifierNode)
				_, isDot := args[1].(*parse.DotNode)
				_, isString := args[2].(*parse.StringNode)
				if isIdent && ident.Ident == "index" && isDot && isString {
					continue
				}
			}
			return fmt.Errorf("%s is neither .KEY nor index . \"KEY\"", n)
		default:
			return fmt.Errorf("%s is not modelled", n)
		}
	}
	return nil
}

func fail(err error) {
	_ = json.NewEncoder(os.Stdout).Encode(map[string]string{"error": err.Error()})
	os.Exit(1)
}
