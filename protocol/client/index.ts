export * from './hearthd-client.js';
