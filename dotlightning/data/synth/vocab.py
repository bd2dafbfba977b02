"""Name pools for the dataset generators, partitioned so val/test use words train never sees.

Each pool is a list of base phrases ("auth service", "mitochondria"). `pool(name, split)` returns the train part
(about 75%) or the held-out part (about 25%, shared by val and test), decided by a stable hash of the phrase, so the
partition never changes when a pool grows. Naming styles (snake_case, CamelCase, "Quoted Words", numbered) are
applied on top by `style_name`; because the base phrase is what's partitioned, a test node ID never equals a train one.
"""
from __future__ import annotations

import hashlib
import random
import re


def _words(text: str) -> list[str]:
    return [w.strip() for w in text.split(",") if w.strip()]


POOLS: dict[str, list[str]] = {
    # --- states (state machines, smcat) ---
    "state": _words("""
        idle, running, paused, stopped, waiting, ready, loading, connected, disconnected, connecting, open, closed,
        locked, unlocked, armed, disarmed, triggered, charging, discharging, heating, cooling, standby, booting,
        shutting down, sleeping, awake, draft, review, approved, rejected, published, archived, pending, processing,
        shipped, delivered, cancelled, refunded, returned, paid, unpaid, overdue, active, suspended, banned, verified,
        playing, jumping, falling, crouching, attacking, dead, respawning, victory, game over, menu, lobby, matchmaking,
        green, yellow, red, flashing, listening, syn sent, syn received, established, fin wait, time wait, close wait,
        last ack, dialing, ringing, on call, on hold, muted, recording, buffering, seeking, ejected, inserted,
        filling, draining, spinning, rinsing, drying, brewing, grinding, dispensing, vending, out of stock,
        logged out, logged in, authenticating, locked out, expired, renewing, provisioning, degraded, healthy,
        failed, recovering, retrying, queued, scheduled, completed, aborted, opening, closing, moving up, moving down,
        doors open, doors closed, parked, cruising, accelerating, braking, landed, taxiing, takeoff, airborne,
        incubating, dividing, dormant, germinating, flowering, wilting, hungry, eating, full, fleeing, hunting,
        submitted, triaged, assigned, in progress, blocked, resolved, reopened, sleeping deeply, dozing, alarm
    """),
    "event": _words("""
        start, stop, pause, resume, reset, timeout, tick, power, press, release, coin, select, cancel, confirm,
        submit, approve, reject, publish, archive, pay, ship, deliver, refund, retry, fail, succeed, connect,
        disconnect, open, close, lock, unlock, arm, disarm, trigger, charge, unplug, plug in, heat, cool, wake, sleep,
        jump, land, hit, die, respawn, win, lose, quit, join, leave, dial, answer, hang up, hold, mute, unmute,
        play, eject, insert, fill, drain, spin, rinse, dry, brew, grind, dispense, login, logout, expire, renew,
        provision, degrade, recover, queue, schedule, complete, abort, call button, arrive, depart, accelerate,
        brake, taxi, take off, feed, hunt, flee, assign, block, unblock, resolve, reopen, escalate, snooze, ack,
        syn, fin, rst, heartbeat, overheat, low battery, door sensor, motion detected, card swipe, button long press
    """),
    "guard": _words("""
        balance > 0, retries < 3, is admin, door closed, temperature > 80, battery low, queue empty, has ticket,
        valid pin, timer expired, user verified, stock available, speed == 0, level > 5, signal strong, cart not empty,
        payment ok, lives > 0, water full, weight ok, key present, count >= 10, attempts > 5, score > 100
    """),
    # --- flowcharts / processes ---
    "action": _words("""
        read input, validate form, save record, send email, show error, log event, compute total, apply discount,
        charge card, print receipt, update inventory, notify user, create account, hash password, load config,
        parse file, open connection, fetch data, render page, close connection, retry request, wait 5 seconds,
        boil water, add tea, steep, pour, add milk, serve, check oil, change tire, wash hands, measure flour,
        mix dough, bake, cool down, slice bread, pack box, label parcel, weigh parcel, scan barcode, ship order,
        call customer, schedule visit, take sample, run test, record result, escalate ticket, close ticket,
        approve request, reject request, archive document, sign contract, review draft, fix bugs, deploy build,
        run migrations, backup database, rotate logs, restart service, page on call, write report, water plants,
        feed cat, lock door, turn on lights, sort mail, file taxes, book flight, pack bags, check in, board plane,
        increment counter, swap values, append item, pop stack, push frame, emit token, allocate memory
    """),
    "decision": _words("""
        is valid, user logged in, stock available, payment approved, water boiling, tests pass, more items,
        file exists, cache hit, retries left, is weekend, over budget, signal received, is raining, has coupon,
        temperature ok, queue empty, count below limit, error occurred, approved by manager, password correct,
        address verified, order paid, age over 18, battery low, door open, token expired, disk full, is prime,
        end of file, found match, timeout reached, input empty, is duplicate, needs review, fraud suspected
    """),
    # --- networks ---
    "host": _words("""
        router, switch, firewall, gateway, modem, access point, web server, mail server, dns server, proxy,
        load balancer, laptop, desktop, printer, nas, camera, thermostat, phone, tablet, smart tv, hub, bridge,
        core switch, edge router, vpn, backup server, file server, raspberry pi, sensor node, controller,
        london, paris, berlin, madrid, rome, vienna, prague, oslo, lisbon, dublin, warsaw, athens, tokyo, osaka,
        seoul, sydney, lima, quito, cairo, nairobi, lagos, delhi, mumbai, toronto, denver, austin, boston, chicago,
        alice, bob, carol, dave, erin, frank, grace, heidi, ivan, judy, mallory, niaj, olivia, peggy, rupert, sybil,
        trent, victor, walter, yolanda, zoe, liam, emma, noah, ava, mia, lucas, ella, omar, priya, chen, yuki,
        kenji, fatima, diego, sofia, hugo, ines, marta, pavel, olga, nils, astrid, ravi, leila, tariq, amara
    """),
    # --- dependencies / code ---
    "module": _words("""
        utils, config, logger, parser, lexer, ast, typechecker, codegen, optimizer, linker, runtime, cli, core,
        models, views, controllers, routes, auth, db, cache, http, server, client, api, schema, validators,
        serializers, tasks, worker, scheduler, events, storage, crypto, compression, metrics, tracing, plugins,
        theme, widgets, layout, renderer, input, audio, physics, network, save game, inventory, dialogue, ai,
        pathfinding, math, geometry, mesh, shader, texture, sprite, timer, clock, queue, pool, registry, loader,
        fetcher, downloader, uploader, indexer, tokenizer, embedding, trainer, evaluator, dataset, sampler, metrics
        store, ledger, wallet, invoice, pricing, tax, payroll, accounts, ticketing, notifications, mailer, sms,
        geo, maps, routing, telemetry, firmware, sensors, actuators, bootloader, drivers, kernel, shell, fs
    """),
    "function": _words("""
        main, load data, parse args, read file, write file, clean rows, validate, transform, compute stats,
        plot results, save model, train, evaluate, predict, tokenize, build vocab, encode, decode, fetch user,
        fetch orders, render, handle request, authenticate, authorize, query db, format response, send reply,
        connect, retry, backoff, log error, init app, setup routes, start server, shutdown, cleanup, merge,
        split, sort items, search, filter items, map values, reduce sum, hash key, lookup, insert, delete,
        update cache, invalidate, compile, link, optimize, emit code, run tests, collect, report, notify,
        schedule job, run job, poll queue, ack message, spawn worker, join workers, draw frame, update physics,
        handle input, play sound, spawn enemy, check collision, apply damage, award points, save state, load state
    """),
    # --- org charts / trees ---
    "role": _words("""
        ceo, cto, cfo, coo, vp engineering, vp sales, vp marketing, head of design, head of hr, engineering manager,
        product manager, tech lead, backend engineer, frontend engineer, data scientist, sre, qa engineer,
        designer, recruiter, accountant, sales rep, account manager, support agent, intern, analyst, architect,
        principal, vice principal, teacher, counselor, librarian, janitor, head nurse, surgeon, resident, pharmacist,
        captain, first officer, purser, flight attendant, chef, sous chef, line cook, dishwasher, head waiter,
        director, producer, editor, writer, camera operator, coach, assistant coach, physio, scout, team captain
    """),
    "taxon": _words("""
        animals, mammals, birds, reptiles, fish, insects, dogs, cats, wolves, foxes, eagles, owls, parrots,
        snakes, lizards, turtles, sharks, salmon, ants, bees, beetles, plants, trees, flowers, ferns, mosses, oaks,
        pines, roses, tulips, fungi, mushrooms, yeasts, bacteria, viruses, vehicles, cars, trucks, bikes, boats,
        planes, sedans, coupes, fruits, apples, pears, citrus, lemons, limes, oranges, berries, vegetables, roots,
        carrots, beets, greens, spinach, kale, music, rock, jazz, blues, punk, metal, classical, baroque,
        electronics, phones, laptops, tablets, sports, football, tennis, chess, science, physics, chemistry,
        biology, genetics, ecology, documents, invoices, receipts, contracts, src, docs, tests, assets, images
    """),
    "cls": _words("""
        animal, dog, cat, bird, shape, circle, square, triangle, polygon, vehicle, car, truck, bicycle, boat,
        account, savings account, checking account, user, admin, guest, employee, manager, contractor, payment,
        card payment, cash payment, crypto payment, exception, io error, value error, timeout error, widget,
        button, text box, slider, checkbox, node, leaf, branch, expression, literal, binary op, unary op, call expr,
        statement, if stmt, while stmt, return stmt, entity, player, enemy, npc, projectile, item, weapon, potion,
        sensor, temperature sensor, humidity sensor, device, actuator, motor, valve, document, report, letter,
        stream, file stream, memory stream, network stream, logger, file logger, console logger, repository,
        sql repository, cache repository, handler, http handler, base model, linear model, tree model
    """),
    # --- pipelines ---
    "stage": _words("""
        ingest, extract, transform, load, clean, dedupe, normalize, enrich, validate, aggregate, join, filter,
        tokenize, embed, index, rank, train, evaluate, deploy, monitor, compress, encrypt, upload, download,
        parse, lint, compile, test, package, publish, sign, scan, resize, crop, thumbnail, transcode, segment,
        annotate, label, split, shuffle, batch, augment, infer, postprocess, score, alert, archive, backup,
        sample, measure, sequence, align, call variants, assemble, harvest, wash, sort, grade, pack, ship,
        receive, store, pick, kit, weld, paint, inspect, assemble parts, mill, grind, roast, brew, bottle
    """),
    # --- architecture ---
    "service": _words("""
        web app, mobile app, api gateway, auth service, user service, order service, payment service,
        inventory service, search service, notification service, email service, billing service, catalog,
        cart service, recommendation engine, analytics, reporting, admin panel, cdn, load balancer, message queue,
        event bus, kafka, redis, postgres, mysql, mongodb, elasticsearch, s3 bucket, data lake, warehouse,
        scheduler, cron, worker pool, image processor, video encoder, ml model server, feature store, logging,
        prometheus, grafana, alert manager, identity provider, ldap, sso, vault, config server, service registry,
        websocket server, chat service, presence service, game server, matchmaker, leaderboard, shop service,
        telemetry collector, device gateway, mqtt broker, time series db, rules engine, dashboard, ledger service,
        fraud detector, risk engine, kyc service, statement generator, payroll service, hr portal, timesheet app
    """),
    "tier": _words("""
        frontend, backend, data, storage, edge, core, platform, infra, observability, security, clients,
        public, private, internal, external, compute, messaging, analytics tier, ingestion, serving, control plane,
        data plane, devices, cloud, on prem, region east, region west, staging, production
    """),
    # --- entity relations ---
    "entity": _words("""
        customer, order, product, invoice, payment, shipment, address, supplier, warehouse, category, review,
        cart, coupon, employee, department, project, task, timesheet, salary, student, course, teacher, classroom,
        enrollment, grade, author, book, publisher, library, loan, member, patient, doctor, appointment,
        prescription, ward, hospital, flight, passenger, booking, seat, airport, airline, song, album, artist,
        playlist, listener, post, comment, tag, user account, profile, message, thread, team, match, league,
        venue, ticket, event, account, transaction, branch, loan officer, policy, claim, vehicle, driver, trip
    """),
    "relation": _words("""
        has, owns, contains, places, belongs to, references, manages, writes, teaches, enrolls in, books,
        pays, ships to, lists, reviews, assigned to, works in, plays in, holds, issues, covers, drives
    """),
    # --- generic graphs ---
    "letter": [c for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"] + [f"n{i}" for i in range(1, 21)]
              + [f"node{i}" for i in range(1, 21)] + [str(i) for i in range(0, 30)]
              + [f"v{i}" for i in range(1, 21)] + [f"x{i}" for i in range(1, 21)] + [f"s{i}" for i in range(0, 21)]
              + _words("alpha, beta, gamma, delta, epsilon, zeta, eta, theta, iota, kappa, lambda, mu, nu, xi, "
                       "omicron, pi, rho, sigma, tau, upsilon, phi, chi, psi, omega, red, blue, green, orange, "
                       "purple, cyan, magenta, black, white, grey, amber, teal, violet, indigo, maroon, olive"),
    "cluster_word": _words("""
        frontend, backend, database, services, clients, storage, monitoring, workers, public, internal, team a,
        team b, phase one, phase two, input, output, core, edge, left, right, group one, group two, north, south
    """),
    # --- v3 prose names (prose.py): natural multi-word phrases said with articles ("the load balancer"),
    # proper names said bare ("Kafka", "Ana"), numbered devices ("access switch 1"). The node ID is the phrase in
    # lower snake_case. Lower-case here; prose capitalises proper names and acronyms when it writes them.
    "p_component": _words("""
        load balancer, api gateway, web server, app server, payment service, auth service, order service,
        user service, search service, notification service, email service, billing service, inventory service,
        shipping service, checkout service, cart service, pricing engine, tax calculator, rate limiter,
        reverse proxy, session store, job scheduler, worker pool, message queue, event bus, config service,
        feature flag service, audit log, metrics collector, log shipper, alerting service, token service,
        identity provider, image resizer, thumbnail service, video transcoder, recommendation service,
        fraud checker, risk engine, report generator, admin dashboard, mobile app, web frontend, backend api,
        main database, read replica, object storage, search index, cache layer, cdn edge, webhook handler,
        sms gateway, push service, geo service, profile service, comment service, media service, chat backend,
        presence tracker, ledger service, invoice service, payout service, booking service, catalog service,
        pdf renderer, upload service, cron runner, batch worker, stream processor, data api, partner api
    """),
    "p_proper": _words("""
        kafka, redis, postgres, mysql, elasticsearch, rabbitmq, nginx, s3, snowflake, bigquery, grafana, prometheus,
        airflow, spark, stripe, twilio, okta, sentry, datadog, cassandra, mongodb, consul, jenkins, memcached,
        clickhouse, dynamodb, sqs, sns, envoy, traefik, haproxy, keycloak, vault, minio, loki, tempo, kibana,
        logstash, fluentd, celery, sidekiq, zookeeper, etcd, nats, pulsar, flink, dbt, looker, tableau, metabase
    """),
    "p_device": _words("""
        access switch, core switch, core router, edge router, firewall, web server, app server, db server,
        worker node, storage node, build agent, replica, shard, kiosk, sensor, camera, printer, laptop,
        access point, gateway node, cache node, proxy node, media server, backup server, compute node, edge node,
        branch router, floor switch, rack switch, spine switch, leaf switch, load balancer, nas box, pump, valve,
        robot arm, conveyor, thermostat, smart plug, hub, repeater, base station, antenna, controller, pdu
    """),
    "p_person": _words("""
        ana, bo, chen, dmitri, elif, femi, greta, hana, ivo, jonas, kiri, lena, mateo, nadia, oskar, pia, quinn,
        rosa, sven, tomas, uma, vera, wen, xavier, yara, zane, amir, beatriz, carlos, dana, emeka, farah, goran,
        hiro, isla, jamal, kaia, luca, mira, nico, otto, paula, rafael, sana, theo, ursula, viktor, willa, ximena,
        yusuf, zofia, aiko, bruno, cleo, dario, esme, felix, gia, hassan, ingrid, jorge, keiko, lars, maya
    """),
    "p_team": _words("""
        engineering, support, sales, legal, finance, marketing, design, operations, security, research, product,
        customer success, data team, platform team, mobile team, web team, qa team, help desk, billing team,
        procurement, payroll, recruiting, facilities, it department, compliance, partnerships, growth team,
        infrastructure team, devops, field service, warehouse staff, logistics, accounting, communications
    """),
    "p_data": _words("""
        data lake, warehouse, raw bucket, staging tables, feature store, dashboard, clickstream, event log,
        landing zone, curated layer, reporting mart, sales mart, crm export, billing export, web logs,
        sensor readings, audit trail, ml model, training set, embeddings table, search index, nightly report,
        kpi dashboard, raw events, cleaned events, daily aggregates, customer table, orders table, product feed,
        csv upload, api dump, backup archive, parquet files, metrics store, forecast model, churn report
    """),
    "p_step_verb": _words("""
        build the code, run unit tests, deploy to staging, deploy to production, merge to main, push the image,
        run integration tests, tag the release, open a pull request, write the changelog, roll back,
        receive the order, check stock, pack the items, ship the parcel, send the invoice, collect payment,
        triage the ticket, reproduce the bug, write a fix, review the code, close the ticket, notify the customer,
        sign the contract, order equipment, create accounts, book a meeting, send an offer, check references,
        wash the vegetables, chop onions, heat the pan, fry the onions, add the sauce, plate the dish,
        fill out the form, upload documents, verify identity, approve the loan, reject the loan, pay out,
        restart the server, page the on call, write a postmortem, collect feedback, update the docs,
        clean the data, train the model, evaluate the model, publish the results, archive the logs
    """),
    "p_step_noun": _words("""
        manual approval, code review, security scan, smoke tests, unit tests, lint check, build step, release,
        onboarding call, kickoff meeting, design review, final inspection, quality check, credit check,
        background check, phone screen, technical interview, offer letter, first day, packing station,
        dispatch, customer signoff, load test, canary rollout, data validation, model training, user acceptance,
        legal review, budget approval, invoice check, intake form, triage call, site survey, handover
    """),
    "p_cond": _words("""
        tests pass, payment approved, stock available, user logged in, cache hit, input valid, disk full,
        order paid, build green, review approved, address verified, card declined, file exists, quota exceeded,
        token expired, customer is vip, item in stock, form complete, budget ok, risk high, email verified,
        age over 18, password correct, fraud suspected, coverage ok, bug reproduced, slots free, queue empty
    """),
    "p_outcome": _words("""
        approved / rejected, pass / fail, success / failure, valid / invalid, found / not found, ok / error,
        accepted / declined, in stock / out of stock, green / red, match / no match, hit / miss, paid / unpaid
    """),
}

# IDs every split may use because they name structure, not domain (flowchart ends, smcat pseudo-states, yes/no).
STRUCTURAL = {"start", "end", "begin", "stop", "initial", "final", "done", "yes", "no", "root", "main",
              "choice", "decide", "check", "branch", "which", "route",
              "fork", "join", "merge", "split", "sync", "junction", "terminate"}

# Letters and small numbers are what hand-written prompts use most ("A -> B"): keep ALL single letters and the
# n1/node1/0..29 families in train; the held-out split gets the v/x/s families and the word lists instead.
_FORCE_TRAIN = {c for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"} | {f"n{i}" for i in range(1, 21)} \
    | {f"node{i}" for i in range(1, 21)} | {str(i) for i in range(0, 30)}
_FORCE_HELDOUT = {f"v{i}" for i in range(1, 21)} | {f"x{i}" for i in range(1, 21)}


def is_heldout(phrase: str) -> bool:
    """Stable 75/25 partition by content hash (no RNG, so adding words never reshuffles the others)."""
    if phrase in _FORCE_TRAIN:
        return False
    if phrase in _FORCE_HELDOUT:
        return True
    return hashlib.md5(phrase.encode()).digest()[0] % 4 == 0


def pool(name: str, split: str) -> list[str]:
    held = split != "train"
    out = [w for w in dict.fromkeys(POOLS[name]) if is_heldout(w) == held and w not in STRUCTURAL]
    return out


def split_words(phrase: str) -> list[str]:
    return [w for w in re.split(r"[^A-Za-z0-9]+", phrase) if w]


NAMING_STYLES = ["snake", "camel", "spaced", "lower_words", "kebab_quoted", "upper_snake", "title_spaced", "numbered"]


def style_name(phrase: str, style: str, index: int = 0) -> str:
    """Render a base phrase in one naming style. The result is both what the prompt says and the node ID."""
    words = split_words(phrase)
    if not words:
        return phrase
    if style == "snake":
        return "_".join(w.lower() for w in words)
    if style == "camel":
        return "".join(w[:1].upper() + w[1:] for w in words)
    if style == "spaced":
        return " ".join(words)
    if style == "title_spaced":
        return " ".join(w[:1].upper() + w[1:] for w in words)
    if style == "lower_words":
        return "".join(w.lower() for w in words)
    if style == "kebab_quoted":
        return "-".join(w.lower() for w in words)
    if style == "upper_snake":
        return "_".join(w.upper() for w in words)
    if style == "numbered":
        return "_".join(w.lower() for w in words) + str(index + 1)
    raise ValueError(f"unknown naming style {style!r}")


def pick_names(rng: random.Random, pool_name: str, split: str, n: int, style: str | None = None,
               styles: list[str] | None = None) -> list[str]:
    """n distinct names from a pool in one naming style (chosen here unless given)."""
    words = pool(pool_name, split)
    base = rng.sample(words, min(n, len(words)))
    if style is None:
        style = rng.choice(styles or NAMING_STYLES)
    names = []
    for i, w in enumerate(base):
        nm = style_name(w, style, i)
        if nm not in names:
            names.append(nm)
    return names
