/**
 * Python's lookup and value errors, raised by the primitives and Manager containers where Python
 * raises KeyError, IndexError, ValueError or AttributeError. They live here rather than in
 * lib/base/errors.ts because only primitives throw them.
 */
import { MultiprocError, registerErrorClass } from '../../lib/base/errors.js';

/** A missing dict key (`pop`, `popitem`, `getItem`, `delItem`) — Python's KeyError. */
export class KeyError extends MultiprocError {
  constructor(message = 'key not found') {
    super('ERR_KEY', message);
  }
}

/** A list index out of range, or pop from an empty list — Python's IndexError. */
export class IndexError extends MultiprocError {
  constructor(message = 'list index out of range') {
    super('ERR_INDEX', message);
  }
}

/** `list.remove(x)` of a value not in the list, `taskDone()` called too often — Python's ValueError. */
export class ValueError extends MultiprocError {
  constructor(message = 'value not found') {
    super('ERR_VALUE', message);
  }
}

/** A Namespace attribute that does not exist — Python's AttributeError. */
export class AttributeError extends MultiprocError {
  constructor(message = 'attribute not found') {
    super('ERR_ATTRIBUTE', message);
  }
}

/** The Manager's own error classes by name, so a server error comes back as the same class. */
export const managerErrorClasses: Record<string, new (message?: string) => Error> = {
  KeyError, IndexError, ValueError, AttributeError,
};

// Thrown inside a Pool task, they come back from the worker as these classes too.
for (const cls of Object.values(managerErrorClasses)) registerErrorClass(cls);
