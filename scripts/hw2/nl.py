from common import add

add("architecture", "nl", '''
I'm sketching our video platform. Users hit the CDN, which pulls from the origin server when it misses. The origin server reads from the object store. Uploads go from the upload API to the object store, and the upload API also enqueues a job on the transcode queue. Transcoder workers (transcoder_1, transcoder_2, transcoder_3) all pull from the transcode queue and write their output back to the object store. Each transcoder also notifies the metadata service when done, and the metadata service writes to postgres. The web app calls the metadata service and the upload API. Users also use the web app.
''', '''
users -> CDN;
CDN -> origin_server;
origin_server -> object_store;
upload_api -> object_store;
upload_api -> transcode_queue;
transcoder_1 -> transcode_queue;
transcoder_2 -> transcode_queue;
transcoder_3 -> transcode_queue;
transcoder_1 -> object_store;
transcoder_2 -> object_store;
transcoder_3 -> object_store;
transcoder_1 -> metadata_service;
transcoder_2 -> metadata_service;
transcoder_3 -> metadata_service;
metadata_service -> postgres;
web_app -> metadata_service;
web_app -> upload_api;
users -> web_app;
''')

add("network", "nl", '''
Draw our home lab network (undirected). The router is connected to the modem, the main switch and the wifi AP. The main switch is connected to the NAS, the proxmox host, the desktop and the second switch. The second switch is linked with the raspberry pi, the printer and the TV. The proxmox host is also directly connected to the NAS with a 10G cable. The wifi AP connects the laptop, the phone and the tablet.
''', '''
router -- modem;
router -- main_switch;
router -- wifi_ap;
main_switch -- NAS;
main_switch -- proxmox_host;
main_switch -- desktop;
main_switch -- second_switch;
second_switch -- raspberry_pi;
second_switch -- printer;
second_switch -- TV;
proxmox_host -- NAS;
wifi_ap -- laptop;
wifi_ap -- phone;
wifi_ap -- tablet;
''', undirected=True)

add("process", "nl", '''
Hiring pipeline: an application is received and screened by the recruiter. Screened candidates go to a phone interview; rejected ones get a rejection email. After the phone interview, the candidate either gets a take-home task or the rejection email. The take-home is reviewed; a good review leads to the onsite, a bad one to the rejection email. After the onsite there's a debrief, and the debrief leads either to an offer or to the rejection email. An offer is either accepted, which triggers onboarding, or declined. Make a dot flow, label the branches (pass / fail, accept / decline).
''', '''
application_received -> screening;
screening -> phone_interview [label="pass"];
screening -> rejection_email [label="fail"];
phone_interview -> take_home [label="pass"];
phone_interview -> rejection_email [label="fail"];
take_home -> review;
review -> onsite [label="pass"];
review -> rejection_email [label="fail"];
onsite -> debrief;
debrief -> offer [label="pass"];
debrief -> rejection_email [label="fail"];
offer -> onboarding [label="accept"];
offer -> declined [label="decline"];
''')

add("cluster", "nl", '''
Can you draw a microservice diagram with three groups? The "frontend" group has web and mobile_bff. The "core" group has orders, payments, inventory and notifications. The "data" group has orders_db, payments_db, inventory_db and kafka. web and mobile_bff both call orders and inventory. orders calls payments and inventory, and publishes to kafka. notifications consumes from kafka. Each of orders, payments and inventory writes to its own db.
''', '''
subgraph cluster_frontend {
label="frontend";
web;
mobile_bff;
}
subgraph cluster_core {
label="core";
orders;
payments;
inventory;
notifications;
}
subgraph cluster_data {
label="data";
orders_db;
payments_db;
inventory_db;
kafka;
}
web -> orders;
web -> inventory;
mobile_bff -> orders;
mobile_bff -> inventory;
orders -> payments;
orders -> inventory;
orders -> kafka;
notifications -> kafka;
orders -> orders_db;
payments -> payments_db;
inventory -> inventory_db;
''')

add("architecture", "nl", '''
The scheduler retries itself on failure. It dispatches tasks to worker_a, worker_b and worker_c. Each worker reports results to the collector. The collector writes into the results store and pings the alerting service. The alerting service pages on-call via pagerduty and posts to slack. The dashboard reads from the results store. The scheduler also reads its config from the config service, and so does each worker. graphviz pls
''', '''
scheduler -> scheduler;
scheduler -> worker_a;
scheduler -> worker_b;
scheduler -> worker_c;
worker_a -> collector;
worker_b -> collector;
worker_c -> collector;
collector -> results_store;
collector -> alerting_service;
alerting_service -> pagerduty;
alerting_service -> slack;
dashboard -> results_store;
scheduler -> config_service;
worker_a -> config_service;
worker_b -> config_service;
worker_c -> config_service;
''')

add("process", "nl", '''
Describe the data science workflow as a graph: raw data is collected, then cleaned. Cleaned data is used for exploration and for feature engineering. Features are split into train and test sets. The model is trained on the train set, then tuned; tuning loops back to training until it converges. The tuned model is evaluated on the test set. If the evaluation passes, the model is deployed, otherwise we go back to feature engineering. The deployed model is monitored, and monitoring triggers retraining, which means going back to collecting data.
''', '''
collect_data -> clean_data;
clean_data -> exploration;
clean_data -> feature_engineering;
feature_engineering -> train_set;
feature_engineering -> test_set;
train_set -> train_model;
train_model -> tune_model;
tune_model -> train_model;
tune_model -> evaluate_model;
test_set -> evaluate_model;
evaluate_model -> deploy_model;
evaluate_model -> feature_engineering;
deploy_model -> monitor_model;
monitor_model -> collect_data;
''')

add("network", "nl", '''
Social graph for a small study group (friendships are mutual, so undirected): Alice is friends with Bob, Carol and Dave. Bob is friends with Carol and Erin. Carol is friends with Frank. Dave is friends with Erin and Grace. Erin is friends with Heidi. Frank is friends with Grace and Ivan. Heidi is friends with Ivan and Judy. Judy is friends with Alice.
''', '''
Alice -- Bob;
Alice -- Carol;
Alice -- Dave;
Bob -- Carol;
Bob -- Erin;
Carol -- Frank;
Dave -- Erin;
Dave -- Grace;
Erin -- Heidi;
Frank -- Grace;
Frank -- Ivan;
Heidi -- Ivan;
Heidi -- Judy;
Judy -- Alice;
''', undirected=True)

add("org_chart", "nl", '''
Please make an org chart. The board oversees the CEO. The CEO manages the CTO, the CFO, the CMO and the VP of People. Under the CTO are the platform lead, the mobile lead and the data lead. The platform lead manages two SREs, sre_1 and sre_2. The data lead manages an analyst and an ML engineer. The CFO manages the controller, and the controller manages the accountant. The CMO manages the brand manager and the growth manager.
''', '''
board -> CEO;
CEO -> CTO;
CEO -> CFO;
CEO -> CMO;
CEO -> vp_of_people;
CTO -> platform_lead;
CTO -> mobile_lead;
CTO -> data_lead;
platform_lead -> sre_1;
platform_lead -> sre_2;
data_lead -> analyst;
data_lead -> ml_engineer;
CFO -> controller;
controller -> accountant;
CMO -> brand_manager;
CMO -> growth_manager;
''')

add("architecture", "nl", '''
Everything in our stack is called by the api gateway: the user service, the search service, the order service and the review service are all called by it. The user service is backed by users_db. The order service is backed by orders_db and it is also allowed to call the user service. The search service is fed by the indexer, and the indexer is fed by both the order service and the review service. The review service is backed by reviews_db. Draw it in DOT with arrows from caller/feeder to callee/fed.
''', '''
api_gateway -> user_service;
api_gateway -> search_service;
api_gateway -> order_service;
api_gateway -> review_service;
user_service -> users_db;
order_service -> orders_db;
order_service -> user_service;
indexer -> search_service;
order_service -> indexer;
review_service -> indexer;
review_service -> reviews_db;
''')

add("cluster", "nl", '''
Kubernetes-ish diagram with namespaces as clusters. Namespace "ingress" has nginx. Namespace "prod" has api.users, api.billing and api.search. Namespace "infra" has pg-primary, pg-replica and redis. nginx routes to api.users, api.billing and api.search. api.users and api.billing both use pg-primary; api.search uses pg-replica and redis. pg-primary streams to pg-replica. Keep the dotted and dashed names as they are.
''', '''
subgraph cluster_ingress {
label="ingress";
nginx;
}
subgraph cluster_prod {
label="prod";
"api.users";
"api.billing";
"api.search";
}
subgraph cluster_infra {
label="infra";
"pg-primary";
"pg-replica";
redis;
}
nginx -> "api.users";
nginx -> "api.billing";
nginx -> "api.search";
"api.users" -> "pg-primary";
"api.billing" -> "pg-primary";
"api.search" -> "pg-replica";
"api.search" -> redis;
"pg-primary" -> "pg-replica";
''')

add("process", "nl", '''
Make me a graph of how a pull request moves through our team. A developer opens the PR, which kicks off CI. If CI fails, the developer pushes fixes, which kicks off CI again. When CI passes, the PR goes to code review. Review can request changes (back to pushing fixes) or approve. Once approved, the PR is merged, which triggers the deploy to staging. From staging there's a smoke test; passing leads to deploy to production and failing leads to a revert. The revert also goes through CI.
''', '''
open_pr -> ci;
ci -> push_fixes [label="fails"];
push_fixes -> ci;
ci -> code_review [label="passes"];
code_review -> push_fixes [label="request changes"];
code_review -> merge [label="approve"];
merge -> deploy_staging;
deploy_staging -> smoke_test;
smoke_test -> deploy_production [label="passes"];
smoke_test -> revert [label="fails"];
revert -> ci;
''')

add("network", "nl", '''
Undirected graph of a metro line network: Central is linked with North, South, East and West. North is linked with Airport and University. East is linked with Harbor and Stadium. Stadium is also linked with South. West is linked with Park and Hospital. Hospital is linked with University. South is linked with Market.
''', '''
Central -- North;
Central -- South;
Central -- East;
Central -- West;
North -- Airport;
North -- University;
East -- Harbor;
East -- Stadium;
Stadium -- South;
West -- Park;
West -- Hospital;
Hospital -- University;
South -- Market;
''', undirected=True)

add("architecture", "nl", '''
IoT backend: every sensor (sensor_1 to sensor_4) publishes readings to the MQTT broker. The broker forwards to the ingest service. The ingest service writes to the time series db and to the raw archive, and it sends anomalies to the rules engine. The rules engine retries itself when a rule times out, and it triggers the notifier. The notifier sends SMS and email. The Grafana dashboard queries the time series db.
''', '''
sensor_1 -> MQTT_broker;
sensor_2 -> MQTT_broker;
sensor_3 -> MQTT_broker;
sensor_4 -> MQTT_broker;
MQTT_broker -> ingest_service;
ingest_service -> time_series_db;
ingest_service -> raw_archive;
ingest_service -> rules_engine;
rules_engine -> rules_engine;
rules_engine -> notifier;
notifier -> SMS;
notifier -> email;
grafana_dashboard -> time_series_db;
''')

add("cluster", "nl", '''
Draw the build pipeline with two stages as clusters. Stage "build" contains checkout, restore_cache, compile and unit_test. Stage "release" contains package, sign, upload and notify. checkout comes first, then restore_cache, then compile, then unit_test. unit_test leads to package. package leads to both sign and upload; sign also leads to upload. upload leads to notify. compile also saves to the cache, so add an edge compile -> save_cache (save_cache is outside both stages).
''', '''
subgraph cluster_build {
label="build";
checkout;
restore_cache;
compile;
unit_test;
}
subgraph cluster_release {
label="release";
package;
sign;
upload;
notify;
}
checkout -> restore_cache;
restore_cache -> compile;
compile -> unit_test;
unit_test -> package;
package -> sign;
package -> upload;
sign -> upload;
upload -> notify;
compile -> save_cache;
''')

add("architecture", "nl", '''
We have a plugin host that loads the plugins @acme/plugin-git, @acme/plugin-lint, @acme/plugin-test and @acme/plugin-deploy. @acme/plugin-lint and @acme/plugin-test both depend on @acme/plugin-git. @acme/plugin-deploy depends on @acme/plugin-test. Every plugin depends on @acme/sdk. The host depends on @acme/sdk as well. Dependency graph in graphviz, dependent -> dependency, host is called plugin-host.
''', '''
"plugin-host" -> "@acme/plugin-git";
"plugin-host" -> "@acme/plugin-lint";
"plugin-host" -> "@acme/plugin-test";
"plugin-host" -> "@acme/plugin-deploy";
"@acme/plugin-lint" -> "@acme/plugin-git";
"@acme/plugin-test" -> "@acme/plugin-git";
"@acme/plugin-deploy" -> "@acme/plugin-test";
"@acme/plugin-git" -> "@acme/sdk";
"@acme/plugin-lint" -> "@acme/sdk";
"@acme/plugin-test" -> "@acme/sdk";
"@acme/plugin-deploy" -> "@acme/sdk";
"plugin-host" -> "@acme/sdk";
''')
