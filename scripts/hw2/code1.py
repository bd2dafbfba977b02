from common import add

add("call_graph", "code", '''
package ingest

func Run(cfg Config) error {
	files, err := listInputs(cfg.Dir)
	if err != nil {
		return err
	}
	for _, f := range files {
		if err := processFile(f); err != nil {
			reportError(f, err)
		}
	}
	return flush()
}

func processFile(path string) error {
	rows, err := parseCSV(path)
	if err != nil {
		return err
	}
	return storeRows(rows)
}

func storeRows(rows []Row) error {
	for _, r := range rows {
		normalize(&r)
	}
	return flush()
}

give me the call graph as dot
''', '''
Run -> listInputs;
Run -> processFile;
Run -> reportError;
Run -> flush;
processFile -> parseCSV;
processFile -> storeRows;
storeRows -> normalize;
storeRows -> flush;
''')

add("manifest", "code", '''
module github.com/acme/billing

go 1.22

require (
	github.com/acme/ledger v0.4.1
	github.com/jackc/pgx/v5 v5.5.0
	github.com/go-chi/chi/v5 v5.0.11
	go.uber.org/zap v1.26.0
)

dependency graph in graphviz pls, module -> what it requires
''', '''
"github.com/acme/billing" -> "github.com/acme/ledger";
"github.com/acme/billing" -> "github.com/jackc/pgx/v5";
"github.com/acme/billing" -> "github.com/go-chi/chi/v5";
"github.com/acme/billing" -> "go.uber.org/zap";
''')

add("call_graph", "code", '''
public class OrderService {

    public Receipt checkout(Cart cart) {
        validateCart(cart);
        Money total = computeTotal(cart);
        chargeCard(cart, total);
        return issueReceipt(cart, total);
    }

    private void validateCart(Cart cart) {
        checkStock(cart);
    }

    private Money computeTotal(Cart cart) {
        Money subtotal = sumLines(cart);
        return applyDiscounts(subtotal);
    }

    private Money applyDiscounts(Money m) {
        return m;
    }

    private Receipt issueReceipt(Cart cart, Money total) {
        sendEmail(cart);
        return new Receipt(total);
    }
}

Can you graph which method calls which?
''', '''
checkout -> validateCart;
checkout -> computeTotal;
checkout -> chargeCard;
checkout -> issueReceipt;
validateCart -> checkStock;
computeTotal -> sumLines;
computeTotal -> applyDiscounts;
issueReceipt -> sendEmail;
''')

add("state_machine", "code", '''
public enum Phase { IDLE, CONNECTING, CONNECTED, CLOSED }

Phase next(Phase p, Event e) {
    switch (p) {
        case IDLE:
            if (e == Event.DIAL) return Phase.CONNECTING;
            break;
        case CONNECTING:
            if (e == Event.ACK) return Phase.CONNECTED;
            if (e == Event.TIMEOUT) return Phase.IDLE;
            break;
        case CONNECTED:
            if (e == Event.HANGUP) return Phase.CLOSED;
            break;
        case CLOSED:
            break;
    }
    return p;
}

Draw this state machine in DOT, label edges with the event.
''', '''
IDLE -> CONNECTING [label="DIAL"];
CONNECTING -> CONNECTED [label="ACK"];
CONNECTING -> IDLE [label="TIMEOUT"];
CONNECTED -> CLOSED [label="HANGUP"];
''')

add("manifest", "code", '''
{
  "name": "@acme/web",
  "version": "2.3.0",
  "private": true,
  "scripts": {
    "dev": "vite",
    "build": "vite build"
  },
  "dependencies": {
    "@acme/ui": "workspace:*",
    "@acme/api-client": "workspace:*",
    "react": "^18.2.0",
    "react-dom": "^18.2.0",
    "zustand": "^4.5.0"
  },
  "devDependencies": {
    "vite": "^5.1.0"
  }
}

graphviz of the runtime dependencies only (not devDependencies)
''', '''
"@acme/web" -> "@acme/ui";
"@acme/web" -> "@acme/api-client";
"@acme/web" -> react;
"@acme/web" -> "react-dom";
"@acme/web" -> zustand;
''')

add("call_graph", "code", '''
export async function handleRequest(req: Request): Promise<Response> {
  const user = await authenticate(req);
  const body = await parseBody(req);
  const result = await dispatch(user, body);
  return render(result);
}

async function authenticate(req: Request) {
  const token = readToken(req);
  return verifyJwt(token);
}

async function dispatch(user: User, body: Payload) {
  if (body.kind === "query") return runQuery(user, body);
  return runMutation(user, body);
}

function runMutation(user: User, body: Payload) {
  audit(user, body);
  return runQuery(user, body);
}
''', '''
handleRequest -> authenticate;
handleRequest -> parseBody;
handleRequest -> dispatch;
handleRequest -> render;
authenticate -> readToken;
authenticate -> verifyJwt;
dispatch -> runQuery;
dispatch -> runMutation;
runMutation -> audit;
runMutation -> runQuery;
''')

add("call_graph", "code", '''
fn main() {
    let args = parse_args();
    let config = load_config(&args.path);
    let index = build_index(&config);
    serve(index);
}

fn load_config(path: &str) -> Config {
    let raw = read_file(path);
    parse_toml(&raw)
}

fn build_index(cfg: &Config) -> Index {
    let docs = scan_dir(&cfg.root);
    tokenize(&docs);
    Index::new()
}

fn serve(index: Index) {
    bind_socket();
    accept_loop(index);
}

call graph → graphviz
''', '''
main -> parse_args;
main -> load_config;
main -> build_index;
main -> serve;
load_config -> read_file;
load_config -> parse_toml;
build_index -> scan_dir;
build_index -> tokenize;
serve -> bind_socket;
serve -> accept_loop;
''')

add("manifest", "code", '''
[package]
name = "tidepool"
version = "0.3.0"
edition = "2021"

[dependencies]
serde = { version = "1", features = ["derive"] }
tokio = { version = "1.36", features = ["full"] }
tidepool-core = { path = "../tidepool-core" }
tracing = "0.1"

[dev-dependencies]
proptest = "1.4"

Make a DOT graph of this crate's dependencies (include dev-dependencies too).
''', '''
tidepool -> serde;
tidepool -> tokio;
tidepool -> "tidepool-core";
tidepool -> tracing;
tidepool -> proptest;
''')

add("includes", "code", '''
/* src/net/http.c */
#include "net/http.h"
#include "net/socket.h"
#include "util/buffer.h"

/* src/net/socket.c */
#include "net/socket.h"
#include "util/log.h"

/* src/util/buffer.c */
#include "util/buffer.h"
#include "util/log.h"

include graph as dot: each .c file -> the headers it includes
''', '''
"src/net/http.c" -> "net/http.h";
"src/net/http.c" -> "net/socket.h";
"src/net/http.c" -> "util/buffer.h";
"src/net/socket.c" -> "net/socket.h";
"src/net/socket.c" -> "util/log.h";
"src/util/buffer.c" -> "util/buffer.h";
"src/util/buffer.c" -> "util/log.h";
''')

add("includes", "code", '''
// renderer.hpp
#pragma once
#include "mesh.hpp"
#include "shader.hpp"

// mesh.hpp
#pragma once
#include "math.hpp"

// shader.hpp
#pragma once
#include "math.hpp"
#include "gl_loader.hpp"

// main.cpp
#include "renderer.hpp"
#include "window.hpp"

graphviz?
''', '''
"renderer.hpp" -> "mesh.hpp";
"renderer.hpp" -> "shader.hpp";
"mesh.hpp" -> "math.hpp";
"shader.hpp" -> "math.hpp";
"shader.hpp" -> "gl_loader.hpp";
"main.cpp" -> "renderer.hpp";
"main.cpp" -> "window.hpp";
''')

add("call_graph", "code", '''
def train(cfg):
    model = build_model(cfg)
    loader = make_loader(cfg)
    for epoch in cfg.epochs:
        train_epoch(model, loader)
        evaluate(model)
    save_checkpoint(model)

def train_epoch(model, loader):
    for batch in loader:
        loss = compute_loss(model, batch)
        step(model, loss)

def evaluate(model):
    metrics = compute_metrics(model)
    log_metrics(metrics)

Need the call graph in DOT format.
''', '''
train -> build_model;
train -> make_loader;
train -> train_epoch;
train -> evaluate;
train -> save_checkpoint;
train_epoch -> compute_loss;
train_epoch -> step;
evaluate -> compute_metrics;
evaluate -> log_metrics;
''')

add("imports", "code", '''
# shop/api/routes.py
from shop.services import orders
from shop.auth import tokens

# shop/services/orders.py
from shop.db import session
from shop.models import order

# shop/auth/tokens.py
from shop.db import session

Show me the module import graph (module -> module it imports), use dotted module names like shop.api.routes
''', '''
"shop.api.routes" -> "shop.services.orders";
"shop.api.routes" -> "shop.auth.tokens";
"shop.services.orders" -> "shop.db.session";
"shop.services.orders" -> "shop.models.order";
"shop.auth.tokens" -> "shop.db.session";
''')

add("sql_schema", "code", '''
CREATE TABLE customers (
    id SERIAL PRIMARY KEY,
    email TEXT NOT NULL UNIQUE
);

CREATE TABLE orders (
    id SERIAL PRIMARY KEY,
    customer_id INT NOT NULL REFERENCES customers(id),
    created_at TIMESTAMPTZ DEFAULT now()
);

CREATE TABLE products (
    id SERIAL PRIMARY KEY,
    sku TEXT NOT NULL
);

CREATE TABLE order_items (
    order_id INT REFERENCES orders(id) ON DELETE CASCADE,
    product_id INT REFERENCES products(id),
    qty INT NOT NULL,
    PRIMARY KEY (order_id, product_id)
);

ER diagram as dot, foreign keys only
''', '''
orders -> customers;
order_items -> orders;
order_items -> products;
''')

add("sql_schema", "code", '''
CREATE TABLE tenants (id BIGINT PRIMARY KEY, name VARCHAR(100));
CREATE TABLE users (
  id BIGINT PRIMARY KEY,
  tenant_id BIGINT NOT NULL,
  manager_id BIGINT NULL,
  CONSTRAINT fk_users_tenant FOREIGN KEY (tenant_id) REFERENCES tenants(id),
  CONSTRAINT fk_users_manager FOREIGN KEY (manager_id) REFERENCES users(id)
);
CREATE TABLE projects (
  id BIGINT PRIMARY KEY,
  tenant_id BIGINT NOT NULL,
  owner_id BIGINT NOT NULL
);
ALTER TABLE projects ADD CONSTRAINT fk_projects_tenant FOREIGN KEY (tenant_id) REFERENCES tenants(id);
ALTER TABLE projects ADD CONSTRAINT fk_projects_owner FOREIGN KEY (owner_id) REFERENCES users(id);
CREATE TABLE audit_log (
  id BIGINT PRIMARY KEY,
  actor_id BIGINT REFERENCES users(id),
  payload JSON
);
''', '''
users -> tenants;
users -> users;
projects -> tenants;
projects -> users;
audit_log -> users;
''')

add("build", "code", '''
CC = gcc
CFLAGS = -O2 -Wall

all: app

app: main.o parser.o lexer.o
	$(CC) -o app main.o parser.o lexer.o

main.o: main.c parser.h
	$(CC) $(CFLAGS) -c main.c

parser.o: parser.c parser.h lexer.h
	$(CC) $(CFLAGS) -c parser.c

lexer.o: lexer.c lexer.h
	$(CC) $(CFLAGS) -c lexer.c

clean:
	rm -f *.o app

draw the make dependency graph (target -> prerequisite)
''', '''
all -> app;
app -> "main.o";
app -> "parser.o";
app -> "lexer.o";
"main.o" -> "main.c";
"main.o" -> "parser.h";
"parser.o" -> "parser.c";
"parser.o" -> "parser.h";
"parser.o" -> "lexer.h";
"lexer.o" -> "lexer.c";
"lexer.o" -> "lexer.h";
''')

add("build", "code", '''
.PHONY: release test lint docker push

release: test docker push

test: lint
	go test ./...

lint:
	golangci-lint run

docker: build
	docker build -t registry.local/svc:$(VERSION) .

build:
	go build -o bin/svc ./cmd/svc

push: docker
	docker push registry.local/svc:$(VERSION)

graph the phony targets and their prerequisites, dot format
''', '''
release -> test;
release -> docker;
release -> push;
test -> lint;
docker -> build;
push -> docker;
''')

add("infra", "code", '''
version: "3.9"
services:
  web:
    build: ./web
    ports: ["8080:80"]
    depends_on:
      - api
  api:
    image: acme/api:1.4
    depends_on:
      - db
      - cache
      - queue
  worker:
    image: acme/worker:1.4
    depends_on:
      - queue
      - db
  db:
    image: postgres:16
  cache:
    image: redis:7
  queue:
    image: rabbitmq:3-management

turn the depends_on into a graphviz digraph
''', '''
web -> api;
api -> db;
api -> cache;
api -> queue;
worker -> queue;
worker -> db;
''')

add("infra", "code", '''
services:
  gateway:
    image: envoyproxy/envoy:v1.29
    depends_on:
      auth-svc:
        condition: service_healthy
      catalog-svc:
        condition: service_started
  auth-svc:
    image: acme/auth
    depends_on:
      users-db:
        condition: service_healthy
  catalog-svc:
    image: acme/catalog
    depends_on:
      catalog-db:
        condition: service_healthy
      search:
        condition: service_started
  users-db:
    image: postgres:16
  catalog-db:
    image: postgres:16
  search:
    image: opensearchproject/opensearch:2

dependency graph please, keep the service names as they are
''', '''
gateway -> "auth-svc";
gateway -> "catalog-svc";
"auth-svc" -> "users-db";
"catalog-svc" -> "catalog-db";
"catalog-svc" -> search;
''')

add("ci", "code", '''
name: ci
on: [push]
jobs:
  lint:
    runs-on: ubuntu-latest
    steps: [{uses: actions/checkout@v4}, {run: make lint}]
  unit:
    runs-on: ubuntu-latest
    needs: lint
    steps: [{run: make test}]
  build-image:
    runs-on: ubuntu-latest
    needs: [lint]
    steps: [{run: make image}]
  integration:
    runs-on: ubuntu-latest
    needs: [unit, build-image]
    steps: [{run: make it}]
  deploy-staging:
    runs-on: ubuntu-latest
    needs: integration
    if: github.ref == 'refs/heads/main'
    steps: [{run: make deploy ENV=staging}]

job graph in dot
''', '''
lint -> unit;
lint -> "build-image";
unit -> integration;
"build-image" -> integration;
integration -> "deploy-staging";
''')
