package plan

import (
	"reflect"
	"strings"

	"go.yaml.in/yaml/v3"
)

// collectKeys lists the YAML keys of the struct out points to.
func collectKeys(out any, into map[string]bool) {
	t := reflect.TypeOf(out)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return
	}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		if name != "-" {
			into[name] = true
		}
	}
}

// UnmarshalYAML rejects unknown keys: node.Decode does not inherit the
// top-level decoder's KnownFields setting.
func (u *UbuntuDecl) UnmarshalYAML(v *yaml.Node) error {
	type plain UbuntuDecl
	var p plain
	if err := decodeStrict(v, &p); err != nil {
		return err
	}
	*u = UbuntuDecl(p)
	return nil
}
