// @peculiar/x509 set up for Node: its tsyringe container needs a Reflect polyfill loaded first,
// and it signs through WebCrypto (Node's globalThis.crypto). Import x509 only through this file.
import "reflect-metadata";
import * as x509 from "@peculiar/x509";
import { webcrypto } from "node:crypto";

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

export * from "@peculiar/x509";
