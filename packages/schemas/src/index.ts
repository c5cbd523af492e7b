/**
 * Zod inputs, wire shapes and limits shared by the API and the web app.
 * Runs in the browser: no server code, no Node APIs.
 */
export * from './limits.ts'
export * from './inputs.ts'
export * from './shapes.ts'
export * from './roles.ts'
