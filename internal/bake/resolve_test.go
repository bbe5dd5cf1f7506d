package bake

import (
	"reflect"
	"testing"
)

const overridesHCL = `
target "app" {
  tags = ["app:1"]
  args = { A = "1" }
  output = ["type=oci,dest=app.tar"]
}
target "app-debug" {
  inherits = ["app"]
  tags = ["app:debug"]
}
target "db" {
  tags = ["db:1"]
}
`

func TestSetOverrides(t *testing.T) {
	c, _, err := Parse([]File{{Name: "docker-bake.hcl", Data: []byte(overridesHCL)}}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	r, err := c.Resolve([]string{"app", "app-debug", "db"}, []string{
		"app*.tags+=extra:1", // prefix*, append
		"db.tags=",           // key= clears
		"*.args.B=2",         // every target
		"app.output=type=local,dest=out",
		"*.push=true",
	})
	if err != nil {
		t.Fatal(err)
	}
	tags := func(n string) []string { return r.Targets[n].Tags }
	if got := tags("app"); !reflect.DeepEqual(got, []string{"app:1", "extra:1"}) {
		t.Errorf("app tags %q", got)
	}
	if got := tags("app-debug"); !reflect.DeepEqual(got, []string{"app:debug", "extra:1"}) {
		t.Errorf("app-debug tags %q", got)
	}
	if got := tags("db"); len(got) != 0 {
		t.Errorf("db tags %q, want none", got)
	}
	if a := r.Targets["app-debug"].Args; *a["A"] != "1" || *a["B"] != "2" {
		t.Errorf("app-debug args %v", a)
	}
	if got := r.Targets["app"].Outputs.Strings(); !reflect.DeepEqual(got, []string{"type=local,dest=out"}) {
		t.Errorf("app outputs %q (--push adds no image output next to a local one)", got)
	}
	if got := r.Targets["db"].Outputs.Strings(); !reflect.DeepEqual(got, []string{"type=image,push=true"}) {
		t.Errorf("db outputs %q, want an image output that pushes", got)
	}
	if _, err := c.Resolve([]string{"app"}, []string{"nope.tags=x"}); err == nil {
		t.Error("--set on an unknown target was accepted")
	}
	if _, err := c.Resolve([]string{"app"}, []string{"app.bogus=x"}); err == nil {
		t.Error("--set of an unknown key was accepted")
	}
}

const composeYAML = `
services:
  web:
    image: example/web:latest
    build:
      context: ./web
      dockerfile: web.Dockerfile
      target: prod
      args:
        VERSION: "1.2"
      cache_from:
        - example/web:cache
      x-bake:
        platforms: linux/amd64 linux/arm64
        tags:
          - example/web:extra
  worker:
    build:
      context: ./worker
      additional_contexts:
        base: service:web
  db:
    image: postgres
`

func TestComposeTargets(t *testing.T) {
	c, _, err := Parse([]File{{Name: "compose.yaml", Data: []byte(composeYAML)}}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	r, err := c.Resolve(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := r.Groups["default"].Targets; !reflect.DeepEqual(got, []string{"web", "worker"}) {
		t.Errorf("default group %q, want the services that build", got)
	}
	web := r.Targets["web"]
	if *web.Context != "web" || *web.Dockerfile != "web.Dockerfile" || *web.Target != "prod" || *web.Args["VERSION"] != "1.2" {
		t.Errorf("web target context %q dockerfile %q target %q args %v", *web.Context, *web.Dockerfile, *web.Target, *web.Args["VERSION"])
	}
	if !reflect.DeepEqual(web.Tags, []string{"example/web:extra"}) {
		t.Errorf("web tags %q (x-bake tags replace the image name, as buildx)", web.Tags)
	}
	if !reflect.DeepEqual(web.Platforms, []string{"linux/amd64", "linux/arm64"}) {
		t.Errorf("web platforms %q", web.Platforms)
	}
	if got := web.CacheFrom.Strings(); !reflect.DeepEqual(got, []string{"type=registry,ref=example/web:cache"}) {
		t.Errorf("web cache-from %q", got)
	}
	if got := r.Targets["worker"].Contexts["base"]; got != "target:web" {
		t.Errorf("worker context base = %q, want target:web", got)
	}
}
