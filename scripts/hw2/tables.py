from common import add

add("state_machine", "table", '''
| From      | Event        | To        |
|-----------|--------------|-----------|
| created   | pay          | paid      |
| created   | cancel       | cancelled |
| paid      | ship         | shipped   |
| paid      | refund       | refunded  |
| shipped   | deliver      | delivered |
| delivered | return       | refunded  |

draw this order lifecycle as a state machine (dot)
''', '''
created -> paid [label="pay"];
created -> cancelled [label="cancel"];
paid -> shipped [label="ship"];
paid -> refunded [label="refund"];
shipped -> delivered [label="deliver"];
delivered -> refunded [label="return"];
''')

add("state_machine", "table", '''
state,event,next_state
LOCKED,coin,UNLOCKED
LOCKED,push,LOCKED
UNLOCKED,push,LOCKED
UNLOCKED,coin,UNLOCKED

turnstile fsm -> graphviz
''', '''
LOCKED -> UNLOCKED [label="coin"];
LOCKED -> LOCKED [label="push"];
UNLOCKED -> LOCKED [label="push"];
UNLOCKED -> UNLOCKED [label="coin"];
''')

add("state_machine", "table", '''
states:
  - name: new
    on:
      assign: triaged
      close: wont_fix
  - name: triaged
    on:
      start: in_progress
  - name: in_progress
    on:
      block: blocked
      resolve: resolved
  - name: blocked
    on:
      unblock: in_progress
  - name: resolved
    on:
      reopen: triaged
      verify: closed

ticket workflow from our yaml config, please make a DOT state diagram
''', '''
new -> triaged [label="assign"];
new -> wont_fix [label="close"];
triaged -> in_progress [label="start"];
in_progress -> blocked [label="block"];
in_progress -> resolved [label="resolve"];
blocked -> in_progress [label="unblock"];
resolved -> triaged [label="reopen"];
resolved -> closed [label="verify"];
''')

add("state_machine", "table", '''
{
  "initial": "idle",
  "states": {
    "idle":       { "on": { "FETCH": "loading" } },
    "loading":    { "on": { "RESOLVE": "success", "REJECT": "failure" } },
    "success":    { "on": { "REFRESH": "loading" } },
    "failure":    { "on": { "RETRY": "loading", "RESET": "idle" } }
  }
}

xstate-ish config, render as dot
''', '''
idle -> loading [label="FETCH"];
loading -> success [label="RESOLVE"];
loading -> failure [label="REJECT"];
success -> loading [label="REFRESH"];
failure -> loading [label="RETRY"];
failure -> idle [label="RESET"];
''')

add("state_machine", "table", '''
Transition table for the pod phase controller:

| current   | trigger            | next      |
|:----------|:-------------------|:----------|
| Pending   | scheduled          | Running   |
| Pending   | unschedulable      | Failed    |
| Running   | all containers ok  | Succeeded |
| Running   | container crashed  | Failed    |
| Running   | node lost          | Unknown   |
| Unknown   | node back          | Running   |

Graphviz please, triggers as edge labels.
''', '''
Pending -> Running [label="scheduled"];
Pending -> Failed [label="unschedulable"];
Running -> Succeeded [label="all containers ok"];
Running -> Failed [label="container crashed"];
Running -> Unknown [label="node lost"];
Unknown -> Running [label="node back"];
''')

add("state_machine", "table", '''
from;to;on
offline;connecting;power_on
connecting;online;handshake_ok
connecting;offline;handshake_failed
online;degraded;packet_loss
degraded;online;recovered
degraded;offline;link_down
online;offline;power_off
''', '''
offline -> connecting [label="power_on"];
connecting -> online [label="handshake_ok"];
connecting -> offline [label="handshake_failed"];
online -> degraded [label="packet_loss"];
degraded -> online [label="recovered"];
degraded -> offline [label="link_down"];
online -> offline [label="power_off"];
''')

add("state_machine", "table", '''
transitions:
  - {from: queued, to: running, event: dequeue}
  - {from: running, to: running, event: heartbeat}
  - {from: running, to: done, event: complete}
  - {from: running, to: queued, event: lease_expired}
  - {from: running, to: dead, event: max_attempts}

make me a state machine diagram in graphviz
''', '''
queued -> running [label="dequeue"];
running -> running [label="heartbeat"];
running -> done [label="complete"];
running -> queued [label="lease_expired"];
running -> dead [label="max_attempts"];
''')

add("state_machine", "table", '''
Vending machine

| State        | Input         | Next state   |
| ------------ | ------------- | ------------ |
| Ready        | insert coin   | HasCredit    |
| HasCredit    | insert coin   | HasCredit    |
| HasCredit    | select item   | Dispensing   |
| HasCredit    | refund        | Ready        |
| Dispensing   | item dropped  | Ready        |
| Ready        | service key   | Maintenance  |
| Maintenance  | service key   | Ready        |
''', '''
Ready -> HasCredit [label="insert coin"];
HasCredit -> HasCredit [label="insert coin"];
HasCredit -> Dispensing [label="select item"];
HasCredit -> Ready [label="refund"];
Dispensing -> Ready [label="item dropped"];
Ready -> Maintenance [label="service key"];
Maintenance -> Ready [label="service key"];
''')

add("state_machine", "table", '''
[
  ["SYN_SENT", "recv SYN+ACK", "ESTABLISHED"],
  ["CLOSED", "active open", "SYN_SENT"],
  ["CLOSED", "passive open", "LISTEN"],
  ["LISTEN", "recv SYN", "SYN_RCVD"],
  ["SYN_RCVD", "recv ACK", "ESTABLISHED"],
  ["ESTABLISHED", "close", "FIN_WAIT_1"],
  ["ESTABLISHED", "recv FIN", "CLOSE_WAIT"]
]

each row is [state, event, next]. dot state machine
''', '''
SYN_SENT -> ESTABLISHED [label="recv SYN+ACK"];
CLOSED -> SYN_SENT [label="active open"];
CLOSED -> LISTEN [label="passive open"];
LISTEN -> SYN_RCVD [label="recv SYN"];
SYN_RCVD -> ESTABLISHED [label="recv ACK"];
ESTABLISHED -> FIN_WAIT_1 [label="close"];
ESTABLISHED -> CLOSE_WAIT [label="recv FIN"];
''')

add("state_machine", "table", '''
Here is the subscription billing states sheet (exported):

Current State,Event,Next State,Notes
trialing,trial_end,active,card on file
trialing,trial_end_no_card,expired,
active,payment_failed,past_due,dunning starts
past_due,payment_succeeded,active,
past_due,dunning_exhausted,canceled,
active,cancel,canceled,user initiated
canceled,resubscribe,active,

I only need the graph, notes can be dropped.
''', '''
trialing -> active [label="trial_end"];
trialing -> expired [label="trial_end_no_card"];
active -> past_due [label="payment_failed"];
past_due -> active [label="payment_succeeded"];
past_due -> canceled [label="dunning_exhausted"];
active -> canceled [label="cancel"];
canceled -> active [label="resubscribe"];
''')

add("state_machine", "table", '''
| state \\ event | open     | close  | lock   | unlock |
|---------------|----------|--------|--------|--------|
| Opened        | -        | Closed | -      | -      |
| Closed        | Opened   | -      | Locked | -      |
| Locked        | -        | -      | -      | Closed |

(matrix form: row = current state, column = event, cell = next state, "-" = no transition). As DOT please.
''', '''
Opened -> Closed [label="close"];
Closed -> Opened [label="open"];
Closed -> Locked [label="lock"];
Locked -> Closed [label="unlock"];
''')

add("state_machine", "table", '''
deployment.states.yaml

rollout:
  Idle:
    deploy: Canary
  Canary:
    metrics_ok: Progressing
    metrics_bad: RollingBack
  Progressing:
    complete: Stable
    metrics_bad: RollingBack
  RollingBack:
    done: Idle
  Stable:
    deploy: Canary

state machine as graphviz with the events as labels
''', '''
Idle -> Canary [label="deploy"];
Canary -> Progressing [label="metrics_ok"];
Canary -> RollingBack [label="metrics_bad"];
Progressing -> Stable [label="complete"];
Progressing -> RollingBack [label="metrics_bad"];
RollingBack -> Idle [label="done"];
Stable -> Canary [label="deploy"];
''')
