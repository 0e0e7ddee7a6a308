export * from "./managed-session-factory-default.js";
export * from "./managed-session-factory.js";
export * from "./managed-session.js";
export * from "./session-manager-delegate.js";
export * from "./session-manager-options.js";
export * from "./session-manager.js";
