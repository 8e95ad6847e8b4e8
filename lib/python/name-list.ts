/**
 * snake_case name → camelCase member, per class: the single list from which the run-time aliases and
 * their types (names.ts) and the keyword forms' snake_case types (keyword-types.ts) are made, so they
 * cannot drift. `methods` are forwarding methods, `getters` read-only properties. Pure data, in a module
 * of its own so that neither of those imports the other.
 */
export const PYTHON_NAMES = {
  Process: { methods: { is_alive: 'isAlive' }, getters: { exitcode: 'exitCode', ident: 'pid' } },
  Queue: {
    methods: {
      put_nowait: 'putNowait', get_nowait: 'getNowait', put_sync: 'putSync', get_sync: 'getSync',
      join_thread: 'joinThread', cancel_join_thread: 'cancelJoinThread',
    },
    getters: {},
  },
  JoinableQueue: { methods: { task_done: 'taskDone', join_sync: 'joinSync' }, getters: {} },
  SimpleQueue: { methods: { get_sync: 'getSync' }, getters: {} },
  Connection: {
    methods: {
      send_bytes: 'sendBytes', recv_bytes: 'recvBytes', recv_bytes_into: 'recvBytesInto', recv_sync: 'recvSync',
      recv_bytes_sync: 'recvBytesSync', recv_bytes_into_sync: 'recvBytesIntoSync', poll_sync: 'pollSync',
    },
    getters: {},
  },
  Lock: { methods: { acquire_sync: 'acquireSync', hold_sync: 'holdSync' }, getters: {} },
  RLock: { methods: { acquire_sync: 'acquireSync', hold_sync: 'holdSync' }, getters: {} },
  Semaphore: { methods: { acquire_sync: 'acquireSync', hold_sync: 'holdSync', get_value: 'getValue' }, getters: {} },
  Event: { methods: { is_set: 'isSet', wait_sync: 'waitSync' }, getters: {} },
  Condition: {
    methods: {
      acquire_sync: 'acquireSync', hold_sync: 'holdSync', notify_all: 'notifyAll', wait_for: 'waitFor',
      wait_sync: 'waitSync', wait_for_sync: 'waitForSync',
    },
    getters: {},
  },
  Barrier: { methods: { wait_sync: 'waitSync' }, getters: { n_waiting: 'nWaiting' } },
  RawSharedValue: { methods: { get_obj: 'getObj' }, getters: {} },
  SharedValue: { methods: { get_lock: 'getLock' }, getters: {} },
  Future: {
    methods: {
      add_done_callback: 'addDoneCallback', set_result: 'setResult', set_exception: 'setException',
      set_running_or_notify_cancel: 'setRunningOrNotifyCancel', result_now: 'resultNow', exception_now: 'exceptionNow',
    },
    getters: {},
  },
  // Manager proxies: the same names, still returning Promises.
  SemaphoreProxy: { methods: { get_value: 'getValue' }, getters: {} },
  EventProxy: { methods: { is_set: 'isSet' }, getters: {} },
  ConditionProxy: { methods: { notify_all: 'notifyAll', wait_for: 'waitFor' }, getters: {} },
  BarrierProxy: { methods: {}, getters: { n_waiting: 'nWaiting' } },
  QueueProxy: { methods: { put_nowait: 'putNowait', get_nowait: 'getNowait' }, getters: {} },
  JoinableQueueProxy: { methods: { task_done: 'taskDone' }, getters: {} },
  DictProxy: { methods: { compare_and_set: 'compareAndSet' }, getters: {} },
  ListProxy: { methods: { compare_and_set: 'compareAndSet' }, getters: {} },
  ValueProxy: { methods: { compare_and_set: 'compareAndSet' }, getters: {} },
  ArrayProxy: { methods: { compare_and_set: 'compareAndSet' }, getters: {} },
} as const;
