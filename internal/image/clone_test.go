package image

import (
	"reflect"
	"testing"
)

// Clone copies every field, and shares no slice, map or pointer with the
// original: a field added to the config later is caught here too, because
// fill sets every field the types have.
func TestCloneIsDeep(t *testing.T) {
	var img Image
	fill(reflect.ValueOf(&img).Elem())
	if len(img.Annotations) == 0 || img.Config.Config.Healthcheck == nil || len(img.Config.History) == 0 {
		t.Fatal("fill left fields empty")
	}
	c := img.Clone()
	if !reflect.DeepEqual(*c, img) {
		t.Fatalf("clone differs:\n%+v\n%+v", *c, img)
	}
	if path, ok := shared(reflect.ValueOf(img), reflect.ValueOf(*c), "Image"); ok {
		t.Errorf("clone shares %s with the original", path)
	}
}

// fill gives every field of v a non-zero value, one element per slice and map.
func fill(v reflect.Value) {
	switch v.Kind() {
	case reflect.String:
		v.SetString("x")
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int64, reflect.Int32:
		v.SetInt(7)
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fill(v.Elem())
	case reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 1, 1))
		fill(v.Index(0))
	case reflect.Map:
		m := reflect.MakeMap(v.Type())
		k, e := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
		fill(k)
		fill(e)
		m.SetMapIndex(k, e)
		v.Set(m)
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				fill(v.Field(i))
			}
		}
	}
}

// shared reports the first slice, map or pointer a and b have in common.
func shared(a, b reflect.Value, path string) (string, bool) {
	switch a.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Slice:
		if !a.IsNil() && a.UnsafePointer() == b.UnsafePointer() {
			return path, true
		}
	}
	switch a.Kind() {
	case reflect.Pointer:
		if !a.IsNil() {
			return shared(a.Elem(), b.Elem(), path)
		}
	case reflect.Slice:
		for i := 0; i < a.Len(); i++ {
			if p, ok := shared(a.Index(i), b.Index(i), path+"[]"); ok {
				return p, true
			}
		}
	case reflect.Struct:
		for i := 0; i < a.NumField(); i++ {
			if a.Type().Field(i).IsExported() {
				if p, ok := shared(a.Field(i), b.Field(i), path+"."+a.Type().Field(i).Name); ok {
					return p, true
				}
			}
		}
	}
	return "", false
}
