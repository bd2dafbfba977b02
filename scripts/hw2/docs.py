from common import add

add("architecture", "docs", '''
## Architecture

> Last updated by @mira, see #412 for the discussion.

Sparrow is split into four processes. The `edge` process terminates TLS and forwards every request to `router`. The `router` looks up the tenant and calls either `query-engine` or `ingest`, depending on the path. `ingest` writes batches to `object-store` and also updates `catalog`. `query-engine` reads from `catalog` and from `object-store`.

All processes ship logs via the local agent; that is out of scope for this doc.

Could you turn the architecture section into a dot diagram?
''', '''
"edge" -> router;
router -> "query-engine";
router -> ingest;
ingest -> "object-store";
ingest -> catalog;
"query-engine" -> catalog;
"query-engine" -> "object-store";
''')

add("process", "docs", '''
# Runbook: primary database failover

Audience: on-call SRE. Estimated time: 15 minutes.

1. Acknowledge the page.
2. Confirm the primary is unhealthy on the dashboard.
3. If the replica lag is under 30s, promote the replica; otherwise escalate to the DBA on call.
4. After promoting, update the DNS record.
5. After updating DNS, restart the app pods.
6. Escalating to the DBA also ends with the app pods being restarted, once the DBA is done.
7. Finally, write the incident note.

Make a flowchart of the runbook steps in graphviz, with the condition on the branching edges.
''', '''
acknowledge_page -> confirm_primary_unhealthy;
confirm_primary_unhealthy -> promote_replica [label="replica lag < 30s"];
confirm_primary_unhealthy -> escalate_to_dba [label="otherwise"];
promote_replica -> update_dns;
update_dns -> restart_app_pods;
escalate_to_dba -> restart_app_pods;
restart_app_pods -> write_incident_note;
''')

add("architecture", "docs", '''
ADR-017: Introduce an outbox for order events

Status: Accepted
Date: 2024-03-02

Context
Previously the order-service published directly to Kafka, which lost events on crashes.

Decision
The order-service will write events into the outbox table in its own database. A new relay process polls the outbox table and publishes to the orders topic. The billing-service and the shipping-service both subscribe to the orders topic. The shipping-service additionally calls the carrier-gateway.

Consequences
Slightly higher latency (~200ms) for downstream consumers.

diagram of the decision (who talks to what) as DOT
''', '''
"order-service" -> outbox_table;
relay -> outbox_table;
relay -> orders_topic;
"billing-service" -> orders_topic;
"shipping-service" -> orders_topic;
"shipping-service" -> "carrier-gateway";
''')

add("architecture", "docs", '''
### Network layout (office)

Thanks to everyone who helped with the move! Notes from the IT channel:

The firewall is connected to the ISP modem and to the core switch. The core switch is linked with the Wi-Fi controller, the NAS and the printer. The Wi-Fi controller is connected to ap-floor1 and ap-floor2. The NAS is also connected to the backup drive over USB.

Parking is on level -2 from Monday.

graphviz of the network please (links are undirected)
''', '''
firewall -- isp_modem;
firewall -- core_switch;
core_switch -- wifi_controller;
core_switch -- nas;
core_switch -- printer;
wifi_controller -- "ap-floor1";
wifi_controller -- "ap-floor2";
nas -- backup_drive;
''', undirected=True)

add("architecture", "docs", '''
README.md

# photon

Photon is a tiny static-site generator. [![CI](badge.svg)](ci)

## How it works

Internally the `cli` module invokes the `loader`, which parses front matter with `yaml` and markdown with `md`. The loader hands pages to the `renderer`; the renderer depends on `templates` and on `md` for inline fragments. Finally `cli` calls `writer` to put files on disk.

## License

MIT

Please draw the module dependency graph described in "How it works".
''', '''
cli -> loader;
loader -> yaml;
loader -> md;
loader -> renderer;
renderer -> templates;
renderer -> md;
cli -> writer;
''')

add("process", "docs", '''
Onboarding checklist (HR wiki)

Welcome aboard! Before the first day, HR sends the contract. Once the contract is signed, IT creates the accounts and facilities prepares the desk, in parallel. When the accounts exist, the manager schedules the intro meetings. The buddy assignment happens after the intro meetings are scheduled. The first-day orientation requires both the desk to be ready and the buddy to be assigned.

Questions? Ask in #people-ops.

Turn this into a dependency flow (step -> following step) in dot.
''', '''
send_contract -> sign_contract;
sign_contract -> create_accounts;
sign_contract -> prepare_desk;
create_accounts -> schedule_intro_meetings;
schedule_intro_meetings -> assign_buddy;
prepare_desk -> first_day_orientation;
assign_buddy -> first_day_orientation;
''')

add("architecture", "docs", '''
From the design doc "Search v2" (section 3.2, Data path):

Crawlers push raw pages into the fetch queue. The parser pulls from the fetch queue and writes documents to the doc store. The indexer reads the doc store and builds shards, which it uploads to the shard bucket. Query nodes load shards from the shard bucket. The frontend fans out each query to all query nodes, i.e. qnode-1, qnode-2 and qnode-3.

(Section 3.3 covers ranking and is still TBD.)

dot with arrows in the direction data moves
''', '''
crawlers -> fetch_queue;
fetch_queue -> parser;
parser -> doc_store;
doc_store -> indexer;
indexer -> shard_bucket;
shard_bucket -> "qnode-1";
shard_bucket -> "qnode-2";
shard_bucket -> "qnode-3";
frontend -> "qnode-1";
frontend -> "qnode-2";
frontend -> "qnode-3";
''')

add("architecture", "docs", '''
# Services overview

We group services by team ownership.

**Team Identity** owns `auth` and `profile`. **Team Commerce** owns `cart`, `checkout` and `pricing`. **Team Platform** owns `gateway`.

Request flow: `gateway` routes to `auth`, `cart` and `profile`. `checkout` calls `cart`, `pricing` and `auth`.

Draw it with one cluster per team.
''', '''
subgraph cluster_identity {
label="Team Identity";
auth;
profile;
}
subgraph cluster_commerce {
label="Team Commerce";
cart;
checkout;
pricing;
}
subgraph cluster_platform {
label="Team Platform";
gateway;
}
gateway -> auth;
gateway -> cart;
gateway -> profile;
checkout -> cart;
checkout -> pricing;
checkout -> auth;
''')

add("process", "docs", '''
RELEASE.md

Releases are cut every second Tuesday. Steps:

- `freeze`: announce the code freeze in #releases
- `branch`: create release/x.y from main (after freeze)
- `changelog` and `qa` both start from the release branch
- `tag` happens only when qa has signed off and the changelog is merged
- `publish` follows `tag`
- `announce` follows `publish`

If something goes wrong, ping the release captain.

Can you graph the release steps in DOT?
''', '''
freeze -> branch;
branch -> changelog;
branch -> qa;
qa -> tag;
changelog -> tag;
tag -> publish;
publish -> announce;
''')

add("architecture", "docs", '''
Internal wiki > Data platform > Lineage

The nightly job `etl.orders_daily` reads from `raw.orders` and `raw.customers`. `etl.revenue` is derived from `etl.orders_daily` and `ref.fx_rates`. The dashboard table `mart.kpi` is built from `etl.revenue` and from `etl.orders_daily`.

Owner: data-eng. SLA: 06:00 UTC.

lineage graph please (arrow from source table to the table built from it)
''', '''
"raw.orders" -> "etl.orders_daily";
"raw.customers" -> "etl.orders_daily";
"etl.orders_daily" -> "etl.revenue";
"ref.fx_rates" -> "etl.revenue";
"etl.revenue" -> "mart.kpi";
"etl.orders_daily" -> "mart.kpi";
''')

add("architecture", "docs", '''
## Deployment topology

The system runs in two regions.

In **eu-west**: `lb-eu` sends traffic to `app-eu-1` and `app-eu-2`; both write to `db-eu`.
In **us-east**: `lb-us` sends traffic to `app-us-1`; it writes to `db-us`.

`db-eu` replicates to `db-us`.

Known issue: the us-east LB has no health checks yet (see INFRA-88).

graphviz, one cluster per region
''', '''
subgraph cluster_eu_west {
label="eu-west";
"lb-eu";
"app-eu-1";
"app-eu-2";
"db-eu";
}
subgraph cluster_us_east {
label="us-east";
"lb-us";
"app-us-1";
"db-us";
}
"lb-eu" -> "app-eu-1";
"lb-eu" -> "app-eu-2";
"app-eu-1" -> "db-eu";
"app-eu-2" -> "db-eu";
"lb-us" -> "app-us-1";
"app-us-1" -> "db-us";
"db-eu" -> "db-us";
''')

add("org_chart", "docs", '''
Team page — Engineering

Hi! This page is maintained by the eng-ops folks.

Priya leads engineering. Reporting to her are Tom (infrastructure), Lena (product engineering) and Kwame (security). Tom's reports are Ines and Ravi. Lena has Yuki, Omar and Sofia on her team. Kwame currently manages Dana.

Please keep this page in sync with Workday.

org chart as a dot digraph (manager -> report)
''', '''
Priya -> Tom;
Priya -> Lena;
Priya -> Kwame;
Tom -> Ines;
Tom -> Ravi;
Lena -> Yuki;
Lena -> Omar;
Lena -> Sofia;
Kwame -> Dana;
''')

add("architecture", "docs", '''
CONTRIBUTING.md (excerpt)

### Crate layout

The workspace has these crates. `kiln-cli` depends on `kiln-core` and `kiln-config`. `kiln-core` depends on `kiln-ir` and `kiln-diag`. `kiln-config` depends on `kiln-diag` too. `kiln-ir` has no internal dependencies. Please do not add a dependency from `kiln-diag` on anything else.

### Code style
Run `cargo fmt` before you push.

Diagram for the crate layout please.
''', '''
"kiln-cli" -> "kiln-core";
"kiln-cli" -> "kiln-config";
"kiln-core" -> "kiln-ir";
"kiln-core" -> "kiln-diag";
"kiln-config" -> "kiln-diag";
''')

add("state_machine", "docs", '''
Docs > Payments > Refund lifecycle

A refund starts as `requested`. When finance approves it, it moves to `approved`; if finance rejects it, it ends up `rejected`. An approved refund becomes `processing` once it is sent to the bank. The bank either confirms, which makes it `completed`, or bounces it, which sends it back to `approved` so it can be resent.

Note: amounts above 10k EUR need two approvers (not modeled here).

state diagram in DOT, event names as labels (approve, reject, send, confirm, bounce)
''', '''
requested -> approved [label="approve"];
requested -> rejected [label="reject"];
approved -> processing [label="send"];
processing -> completed [label="confirm"];
processing -> approved [label="bounce"];
''')

add("architecture", "docs", '''
Postmortem 2024-05-14 — Checkout outage (excerpt: "System involved")

The storefront calls the checkout API. The checkout API calls the payment adapter and the fraud scorer. The fraud scorer depends on the feature cache, and the feature cache is refreshed by the feature pipeline. The payment adapter talks to the PSP.

Root cause was an expired certificate on the PSP connection. Timeline and action items below.

Draw the systems involved as a graph.
''', '''
storefront -> checkout_api;
checkout_api -> payment_adapter;
checkout_api -> fraud_scorer;
fraud_scorer -> feature_cache;
feature_pipeline -> feature_cache;
payment_adapter -> PSP;
''')
