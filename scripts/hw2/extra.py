from common import add

add("sql_schema", "code", '''
-- schema.sql (sqlite)
CREATE TABLE authors (id INTEGER PRIMARY KEY, name TEXT);
CREATE TABLE posts (
  id INTEGER PRIMARY KEY,
  author_id INTEGER NOT NULL,
  title TEXT,
  FOREIGN KEY (author_id) REFERENCES authors(id)
);
CREATE TABLE tags (id INTEGER PRIMARY KEY, label TEXT UNIQUE);
CREATE TABLE post_tags (
  post_id INTEGER REFERENCES posts(id),
  tag_id INTEGER REFERENCES tags(id)
);
CREATE TABLE comments (
  id INTEGER PRIMARY KEY,
  post_id INTEGER NOT NULL REFERENCES posts(id),
  parent_id INTEGER REFERENCES comments(id),
  author_id INTEGER REFERENCES authors(id),
  body TEXT
);

which tables reference which? graphviz
''', '''
posts -> authors;
post_tags -> posts;
post_tags -> tags;
comments -> posts;
comments -> comments;
comments -> authors;
''')

add("infra", "code", '''
# docker-compose.override.yml for local dev
services:
  frontend:
    depends_on: [bff]
  bff:
    depends_on: [graphql]
  graphql:
    depends_on: [accounts, catalog]
  accounts:
    depends_on: [mongo]
  catalog:
    depends_on: [mongo, minio]
  mongo: {}
  minio: {}
''', '''
frontend -> bff;
bff -> graphql;
graphql -> accounts;
graphql -> catalog;
accounts -> mongo;
catalog -> mongo;
catalog -> minio;
''')

add("ci", "code", '''
.gitlab-ci.yml

build:web:
  stage: build
  script: npm run build

build:api:
  stage: build
  script: go build ./...

test:e2e:
  stage: test
  needs: ["build:web", "build:api"]
  script: npx playwright test

deploy:review:
  stage: deploy
  needs: ["test:e2e"]
  environment: review/$CI_COMMIT_REF_SLUG

pipeline graph as DOT (job names have colons, keep them)
''', '''
"build:web" -> "test:e2e";
"build:api" -> "test:e2e";
"test:e2e" -> "deploy:review";
''')

add("includes", "code", '''
#include "core/string.h"   /* in lib/core/string.c */

Actually here is the full list, file: includes

lib/core/string.c: core/string.h core/alloc.h
lib/core/alloc.c: core/alloc.h
lib/io/file.c: io/file.h core/string.h core/alloc.h
app/main.c: io/file.h core/string.h

dot graph from file to included header
''', '''
"lib/core/string.c" -> "core/string.h";
"lib/core/string.c" -> "core/alloc.h";
"lib/core/alloc.c" -> "core/alloc.h";
"lib/io/file.c" -> "io/file.h";
"lib/io/file.c" -> "core/string.h";
"lib/io/file.c" -> "core/alloc.h";
"app/main.c" -> "io/file.h";
"app/main.c" -> "core/string.h";
''')

add("call_graph", "code", '''
def cli():
    args = parse()
    if args.cmd == "sync":
        sync(args)
    elif args.cmd == "status":
        status(args)

def sync(args):
    local = scan_local(args.dir)
    remote = list_remote(args.bucket)
    for item in diff(local, remote):
        upload(item)
    status(args)

def status(args):
    show(list_remote(args.bucket))
''', '''
cli -> parse;
cli -> sync;
cli -> status;
sync -> scan_local;
sync -> list_remote;
sync -> diff;
sync -> upload;
sync -> status;
status -> show;
status -> list_remote;
''')

add("state_machine", "code", '''
enum class Mode { Standby, Heating, Cooling, Fault };

Mode update(Mode m, Signal s) {
    switch (m) {
    case Mode::Standby:
        if (s == Signal::TooCold) return Mode::Heating;
        if (s == Signal::TooHot)  return Mode::Cooling;
        break;
    case Mode::Heating:
        if (s == Signal::TargetReached) return Mode::Standby;
        if (s == Signal::SensorError)   return Mode::Fault;
        break;
    case Mode::Cooling:
        if (s == Signal::TargetReached) return Mode::Standby;
        if (s == Signal::SensorError)   return Mode::Fault;
        break;
    case Mode::Fault:
        if (s == Signal::Reset) return Mode::Standby;
        break;
    }
    return m;
}

thermostat state machine, graphviz
''', '''
Standby -> Heating [label="TooCold"];
Standby -> Cooling [label="TooHot"];
Heating -> Standby [label="TargetReached"];
Heating -> Fault [label="SensorError"];
Cooling -> Standby [label="TargetReached"];
Cooling -> Fault [label="SensorError"];
Fault -> Standby [label="Reset"];
''')

add("architecture", "docs", '''
# Changelog / migration notes v3.0

BREAKING: the `notifier` no longer talks to SMTP directly.

In v3, `notifier` sends all messages to `mail-relay`, and `mail-relay` talks to `smtp-pool`. The `scheduler` still triggers `notifier`, and `billing` now triggers `notifier` too (previously it used its own mailer, which has been removed).

Upgrade steps: bump the chart to 3.0.0 and delete the old `billing-mailer` deployment.

Please draw the v3 topology described above.
''', '''
notifier -> "mail-relay";
"mail-relay" -> "smtp-pool";
scheduler -> notifier;
billing -> notifier;
''')

add("network", "nl", '''
Undirected graph please: the cluster has three etcd members, etcd-1, etcd-2 and etcd-3, all connected to each other. Each control plane node (cp-1, cp-2) is connected to all three etcd members. Worker nodes w-1, w-2, w-3 and w-4 are each connected to both control plane nodes.
''', '''
"etcd-1" -- "etcd-2";
"etcd-1" -- "etcd-3";
"etcd-2" -- "etcd-3";
"cp-1" -- "etcd-1";
"cp-1" -- "etcd-2";
"cp-1" -- "etcd-3";
"cp-2" -- "etcd-1";
"cp-2" -- "etcd-2";
"cp-2" -- "etcd-3";
"w-1" -- "cp-1";
"w-1" -- "cp-2";
"w-2" -- "cp-1";
"w-2" -- "cp-2";
"w-3" -- "cp-1";
"w-3" -- "cp-2";
"w-4" -- "cp-1";
"w-4" -- "cp-2";
''', undirected=True)
