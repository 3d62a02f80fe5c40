export * from './endpoints.js';
export * from './errors.js';
export * from './events.js';
export * from './schemas/common.js';
export * from './schemas/host.js';
export * from './schemas/system.js';
export * from './version.js';
export * from './ipc.js';
