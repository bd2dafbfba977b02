from common import add

add("ci", "code", '''
stages: [build, test, package, deploy]

compile:
  stage: build
  script: ./gradlew assemble

unit_tests:
  stage: test
  needs: ["compile"]
  script: ./gradlew test

static_analysis:
  stage: test
  needs: ["compile"]
  script: ./gradlew spotbugsMain

docker_image:
  stage: package
  needs: ["unit_tests", "static_analysis"]
  script: docker build .

deploy_prod:
  stage: deploy
  needs: ["docker_image"]
  when: manual
  script: ./deploy.sh

Can I get the needs graph of this .gitlab-ci.yml as graphviz? Arrows in execution order.
''', '''
compile -> unit_tests;
compile -> static_analysis;
unit_tests -> docker_image;
static_analysis -> docker_image;
docker_image -> deploy_prod;
''')

add("infra", "code", '''
resource "aws_vpc" "main" {
  cidr_block = "10.0.0.0/16"
}

resource "aws_subnet" "public" {
  vpc_id     = aws_vpc.main.id
  cidr_block = "10.0.1.0/24"
}

resource "aws_security_group" "web" {
  vpc_id = aws_vpc.main.id
}

resource "aws_instance" "web" {
  ami                    = "ami-0abcd1234"
  instance_type          = "t3.micro"
  subnet_id              = aws_subnet.public.id
  vpc_security_group_ids = [aws_security_group.web.id]
}

resource "aws_eip" "web" {
  instance = aws_instance.web.id
}

resource graph for this terraform (resource -> resource it references)
''', '''
"aws_subnet.public" -> "aws_vpc.main";
"aws_security_group.web" -> "aws_vpc.main";
"aws_instance.web" -> "aws_subnet.public";
"aws_instance.web" -> "aws_security_group.web";
"aws_eip.web" -> "aws_instance.web";
''')

add("infra", "code", '''
resource "google_service_account" "runner" {
  account_id = "job-runner"
}

resource "google_storage_bucket" "artifacts" {
  name     = "acme-artifacts"
  location = "EU"
}

resource "google_storage_bucket_iam_member" "runner_write" {
  bucket = google_storage_bucket.artifacts.name
  role   = "roles/storage.objectAdmin"
  member = "serviceAccount:${google_service_account.runner.email}"
}

resource "google_cloud_run_v2_job" "nightly" {
  name     = "nightly-export"
  location = "europe-west1"
  template {
    template {
      service_account = google_service_account.runner.email
      containers {
        image = "europe-docker.pkg.dev/acme/jobs/export:latest"
        env {
          name  = "BUCKET"
          value = google_storage_bucket.artifacts.url
        }
      }
    }
  }
  depends_on = [google_storage_bucket_iam_member.runner_write]
}

graphviz
''', '''
"google_storage_bucket_iam_member.runner_write" -> "google_storage_bucket.artifacts";
"google_storage_bucket_iam_member.runner_write" -> "google_service_account.runner";
"google_cloud_run_v2_job.nightly" -> "google_service_account.runner";
"google_cloud_run_v2_job.nightly" -> "google_storage_bucket.artifacts";
"google_cloud_run_v2_job.nightly" -> "google_storage_bucket_iam_member.runner_write";
''')

add("manifest", "code", '''
Here's requirements.txt for our service "ranker":

fastapi==0.110.0
uvicorn[standard]==0.29.0
pydantic>=2.6
numpy
scikit-learn==1.4.1
# internal
acme-features @ git+https://git.acme.dev/ml/acme-features.git@v3

give me a dependency graph in DOT with ranker pointing at each package
''', '''
ranker -> fastapi;
ranker -> uvicorn;
ranker -> pydantic;
ranker -> numpy;
ranker -> "scikit-learn";
ranker -> "acme-features";
''')

add("edge_list", "code", '''
source,target
auth,users
auth,sessions
orders,users
orders,inventory
orders,payments
payments,ledger
inventory,warehouse

this csv is service -> service calls, render it as a dot digraph
''', '''
auth -> users;
auth -> sessions;
orders -> users;
orders -> inventory;
orders -> payments;
payments -> ledger;
inventory -> warehouse;
''')

add("edge_list", "code", '''
node_a,node_b,latency_ms
rtr-core-1,rtr-core-2,1
rtr-core-1,sw-rack-a,2
rtr-core-1,sw-rack-b,2
rtr-core-2,sw-rack-a,2
rtr-core-2,sw-rack-b,2
sw-rack-a,host-a1,1
sw-rack-a,host-a2,1
sw-rack-b,host-b1,1

These are physical links (undirected). Make a graphviz graph, no need for the latency.
''', '''
"rtr-core-1" -- "rtr-core-2";
"rtr-core-1" -- "sw-rack-a";
"rtr-core-1" -- "sw-rack-b";
"rtr-core-2" -- "sw-rack-a";
"rtr-core-2" -- "sw-rack-b";
"sw-rack-a" -- "host-a1";
"sw-rack-a" -- "host-a2";
"sw-rack-b" -- "host-b1";
''', undirected=True)

add("edge_list", "code", '''
{
  "nodes": ["ingest", "dedupe", "enrich", "geo_lookup", "score", "sink"],
  "edges": [
    {"from": "ingest", "to": "dedupe"},
    {"from": "dedupe", "to": "enrich"},
    {"from": "enrich", "to": "geo_lookup"},
    {"from": "enrich", "to": "score"},
    {"from": "geo_lookup", "to": "score"},
    {"from": "score", "to": "sink"}
  ]
}

convert to DOT
''', '''
ingest -> dedupe;
dedupe -> enrich;
enrich -> geo_lookup;
enrich -> score;
geo_lookup -> score;
score -> sink;
''')

add("edge_list", "code", '''
{
  "api.gateway": ["api.users", "api.orders"],
  "api.users": ["db.users"],
  "api.orders": ["db.orders", "api.users", "mq.events"],
  "worker.mailer": ["mq.events"]
}

adjacency list (key depends on each value). dot please
''', '''
"api.gateway" -> "api.users";
"api.gateway" -> "api.orders";
"api.users" -> "db.users";
"api.orders" -> "db.orders";
"api.orders" -> "api.users";
"api.orders" -> "mq.events";
"worker.mailer" -> "mq.events";
''')

add("state_machine", "code", '''
type State int

const (
	Pending State = iota
	Running
	Paused
	Succeeded
	Failed
)

func (s State) On(ev string) State {
	switch s {
	case Pending:
		if ev == "start" {
			return Running
		}
	case Running:
		switch ev {
		case "pause":
			return Paused
		case "finish":
			return Succeeded
		case "error":
			return Failed
		}
	case Paused:
		if ev == "resume" {
			return Running
		}
	case Failed:
		if ev == "retry" {
			return Pending
		}
	}
	return s
}

state diagram as graphviz, events on the edges
''', '''
Pending -> Running [label="start"];
Running -> Paused [label="pause"];
Running -> Succeeded [label="finish"];
Running -> Failed [label="error"];
Paused -> Running [label="resume"];
Failed -> Pending [label="retry"];
''')

add("state_machine", "code", '''
#[derive(Clone, Copy)]
enum Light { Off, Dim, Bright }

enum Input { Press, LongPress }

fn step(l: Light, i: Input) -> Light {
    match (l, i) {
        (Light::Off, Input::Press) => Light::Dim,
        (Light::Dim, Input::Press) => Light::Bright,
        (Light::Bright, Input::Press) => Light::Off,
        (Light::Dim, Input::LongPress) => Light::Off,
        (Light::Bright, Input::LongPress) => Light::Off,
        (Light::Off, Input::LongPress) => Light::Off,
    }
}
''', '''
Off -> Dim [label="Press"];
Dim -> Bright [label="Press"];
Bright -> Off [label="Press"];
Dim -> Off [label="LongPress"];
Bright -> Off [label="LongPress"];
Off -> Off [label="LongPress"];
''')

add("state_machine", "code", '''
type Status = "draft" | "in_review" | "approved" | "published" | "archived";

export function transition(s: Status, action: string): Status {
  switch (s) {
    case "draft":
      if (action === "submit") return "in_review";
      break;
    case "in_review":
      if (action === "approve") return "approved";
      if (action === "reject") return "draft";
      break;
    case "approved":
      if (action === "publish") return "published";
      break;
    case "published":
      if (action === "archive") return "archived";
      break;
  }
  throw new Error(`bad transition ${s} -> ${action}`);
}

dot state diagram?
''', '''
draft -> in_review [label="submit"];
in_review -> approved [label="approve"];
in_review -> draft [label="reject"];
approved -> published [label="publish"];
published -> archived [label="archive"];
''')

add("call_graph", "code", '''
static int read_header(FILE *f, struct hdr *h);
static int read_chunk(FILE *f, struct chunk *c);

int load_image(const char *path, struct image *img)
{
    FILE *f = open_or_die(path);
    struct hdr h;
    if (read_header(f, &h) < 0)
        return fail(f);
    while (read_chunk(f, &img->chunks[img->n]) == 0)
        img->n++;
    decode_pixels(img);
    return 0;
}

static int read_header(FILE *f, struct hdr *h)
{
    return read_u32(f, &h->magic);
}

static int read_chunk(FILE *f, struct chunk *c)
{
    read_u32(f, &c->len);
    return check_crc(c);
}

Give me the call graph in graphviz.
''', '''
load_image -> open_or_die;
load_image -> read_header;
load_image -> fail;
load_image -> read_chunk;
load_image -> decode_pixels;
read_header -> read_u32;
read_chunk -> read_u32;
read_chunk -> check_crc;
''')

add("call_graph", "code", '''
class Exporter:
    def export(self, query):
        rows = self.fetch(query)
        table = self.to_table(rows)
        self.write(table)

    def fetch(self, query):
        conn = self.connect()
        return self.run_query(conn, query)

    def to_table(self, rows):
        return self.format_row(rows[0])

    def write(self, table):
        self.compress(table)
        self.upload(table)

Graph of which method calls which (just method names), as DOT
''', '''
export -> fetch;
export -> to_table;
export -> write;
fetch -> connect;
fetch -> run_query;
to_table -> format_row;
write -> compress;
write -> upload;
''')

add("call_graph", "code", '''
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !s.authorize(r) {
		s.deny(w)
		return
	}
	s.route(w, r)
}

func (s *Server) authorize(r *http.Request) bool {
	return s.checkToken(r) && s.checkScope(r)
}

func (s *Server) route(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/health":
		s.health(w)
	default:
		s.proxy(w, r)
	}
}

func (s *Server) proxy(w http.ResponseWriter, r *http.Request) {
	backend := s.pickBackend()
	s.forward(backend, w, r)
}

dot call graph of the Server methods
''', '''
ServeHTTP -> authorize;
ServeHTTP -> deny;
ServeHTTP -> route;
authorize -> checkToken;
authorize -> checkScope;
route -> health;
route -> proxy;
proxy -> pickBackend;
proxy -> forward;
''')

add("ci", "code", '''
jobs:
  build-linux:
    runs-on: ubuntu-latest
  build-macos:
    runs-on: macos-14
  build-windows:
    runs-on: windows-latest
  package:
    needs: [build-linux, build-macos, build-windows]
    runs-on: ubuntu-latest
  sign:
    needs: package
    runs-on: macos-14
  release:
    needs: [sign]
    runs-on: ubuntu-latest
  docs:
    needs: build-linux
    runs-on: ubuntu-latest
  publish-docs:
    needs: [docs, release]
    runs-on: ubuntu-latest

what does the workflow look like as a graph? dot
''', '''
"build-linux" -> package;
"build-macos" -> package;
"build-windows" -> package;
package -> sign;
sign -> release;
"build-linux" -> docs;
docs -> "publish-docs";
release -> "publish-docs";
''')

add("manifest", "code", '''
packages/ui/package.json:
  { "name": "@acme/ui", "dependencies": { "@acme/tokens": "workspace:*", "clsx": "^2.1.0" } }

packages/tokens/package.json:
  { "name": "@acme/tokens", "dependencies": {} }

packages/api-client/package.json:
  { "name": "@acme/api-client", "dependencies": { "@acme/schema": "workspace:*", "ky": "^1.2.0" } }

packages/schema/package.json:
  { "name": "@acme/schema", "dependencies": { "zod": "^3.22.4" } }

apps/admin/package.json:
  { "name": "@acme/admin", "dependencies": { "@acme/ui": "workspace:*", "@acme/api-client": "workspace:*" } }

monorepo dependency graph, only between our own @acme packages please
''', '''
"@acme/ui" -> "@acme/tokens";
"@acme/api-client" -> "@acme/schema";
"@acme/admin" -> "@acme/ui";
"@acme/admin" -> "@acme/api-client";
''')

add("build", "code", '''
# BUILD.bazel
cc_library(
    name = "codec",
    srcs = ["codec.cc"],
    hdrs = ["codec.h"],
    deps = [":bitstream", ":tables"],
)

cc_library(
    name = "bitstream",
    srcs = ["bitstream.cc"],
    deps = [":tables"],
)

cc_library(name = "tables", srcs = ["tables.cc"])

cc_binary(
    name = "encoder",
    srcs = ["encoder_main.cc"],
    deps = [":codec", ":cli_flags"],
)

cc_library(name = "cli_flags", srcs = ["flags.cc"])

cc_test(
    name = "codec_test",
    srcs = ["codec_test.cc"],
    deps = [":codec"],
)

target graph in DOT (target -> dep), drop the leading colon
''', '''
codec -> bitstream;
codec -> tables;
bitstream -> tables;
encoder -> codec;
encoder -> cli_flags;
codec_test -> codec;
''')

add("imports", "code", '''
// src/app.ts
import { createRouter } from "./router";
import { store } from "./store";

// src/router.ts
import { store } from "./store";
import { HomePage } from "./pages/home";

// src/pages/home.ts
import { api } from "./../api";

// src/store.ts
import { api } from "./api";

Imports graph. Use the file paths relative to the repo root like src/app.ts as node names.
''', '''
"src/app.ts" -> "src/router.ts";
"src/app.ts" -> "src/store.ts";
"src/router.ts" -> "src/store.ts";
"src/router.ts" -> "src/pages/home.ts";
"src/pages/home.ts" -> "src/api.ts";
"src/store.ts" -> "src/api.ts";
''')

add("imports", "code", '''
package com.acme.checkout;

// file: CheckoutController.java
import com.acme.checkout.service.CartService;
import com.acme.checkout.service.PaymentService;

// file: service/CartService.java
import com.acme.checkout.repo.CartRepository;

// file: service/PaymentService.java
import com.acme.checkout.repo.PaymentRepository;
import com.acme.checkout.client.StripeClient;

class dependency graph (class -> imported class), simple class names are fine
''', '''
CheckoutController -> CartService;
CheckoutController -> PaymentService;
CartService -> CartRepository;
PaymentService -> PaymentRepository;
PaymentService -> StripeClient;
''')

add("call_graph", "code", '''
const fetchUser = async (id: string) => http.get(`/users/${id}`);

async function loadDashboard(id: string) {
  const [user, stats] = await Promise.all([fetchUser(id), fetchStats(id)]);
  const widgets = buildWidgets(user, stats);
  paint(widgets);
}

function buildWidgets(user: User, stats: Stats) {
  return [profileCard(user), statsChart(stats)];
}

function statsChart(stats: Stats) {
  return formatSeries(stats.series);
}

graph of function calls; ignore http.get and Promise.all
''', '''
loadDashboard -> fetchUser;
loadDashboard -> fetchStats;
loadDashboard -> buildWidgets;
loadDashboard -> paint;
buildWidgets -> profileCard;
buildWidgets -> statsChart;
statsChart -> formatSeries;
''')
