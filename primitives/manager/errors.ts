/** The Manager's error classes are the primitives' own (primitives/errors.ts); kept here for the manager's modules and older imports. */
export { KeyError, IndexError, ValueError, AttributeError, managerErrorClasses } from '../kernel/errors.js';
