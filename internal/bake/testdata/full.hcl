variable "TAG" {
  default = "latest"
}

variable "REGISTRY" {
  default = "registry.example"
}

function "tag" {
  params = [name]
  result = ["${REGISTRY}/${name}:${TAG}"]
}

group "default" {
  targets = ["app"]
}

group "all" {
  targets = ["app", "lint", "db"]
}

target "_common" {
  args = {
    GO_VERSION = "1.26"
  }
  labels = {
    "org.opencontainers.image.source" = "https://example/app"
  }
  platforms  = ["linux/amd64"]
  cache-from = ["type=registry,ref=${REGISTRY}/cache", { type = "local", src = "/tmp/cache" }]
}

target "app" {
  inherits   = ["_common"]
  dockerfile = "app.Dockerfile"
  target     = "prod"
  tags       = tag("app")
  args = {
    VERSION = upper("v${TAG}")
  }
  contexts = {
    base = "target:base"
  }
  secret  = ["id=token,env=TOKEN"]

  output  = ["type=oci,dest=out/app.tar"]
  attest  = ["type=sbom", "type=provenance,mode=max"]
  annotations = ["index:org.opencontainers.image.title=app"]
}

target "base" {
  dockerfile-inline = "FROM busybox\nRUN echo ${TAG}\n"
}

target "lint" {
  inherits = ["app"]
  call     = "check"
  tags     = []
}

target "db" {
  name = "db-${replace(v, ".", "-")}"
  matrix = {
    v = ["15.1", "16.2"]
  }
  args = {
    PG = v
  }
  tags = ["db:${v}"]
}
