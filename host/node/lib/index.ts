// The library (`import { Device, Agent, Core } from "tinycmp"`): the core's CMP transaction over
// HTTP, the device agent, the credential store. The test PKI is `tinycmp/testpki`.
export { AbiMismatch, Core, CorePanic, DEFAULT_WASM, LEAN_WASM, type CoreOptions } from "./core";
/** The module's numbers by name (error codes, items, actions, results ...), generated from the core. */
export * as abi from "./abi";
export { CmpError, Device, Op, Options, type OpName, type Outcome, type Request, type Transport } from "./device";
export { HttpTransport, OPERATION_PATHS, operationUrl, TransportError, wellKnownPath, type HttpTransportOptions, type Operation } from "./transport";
export { Agent, CmpFailure, systemClock, type AgentConfig, type Clock, type LogEvent, type StepResult, type Transport as AgentTransport } from "./agent";
export { Flash, PowerCut, SLOT_COUNT, SLOT_SIZE, type FlashOptions } from "./flash";
export { KIND, Store, StoreError, TAG } from "./store";
export { nameDer, p256Scalar, pemOrDer, readCerts, readP256Key, sansDer, secretArg, toPem, writeCerts, writeP256Key } from "./files";
export { inspect, type Inspection, type PkiStatus } from "./inspect";
