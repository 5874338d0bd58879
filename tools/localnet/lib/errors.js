'use strict';
// TransactionError / InstructionError as a validator shows them: JSON shape
// (serde of solana-sdk transaction-error/src/lib.rs, instruction-error) and the
// Display text used in "Transaction simulation failed: {err}" (agave rpc.rs).

// Order = litesvm's TransactionErrorFieldless const enum (dist/internal.d.ts).
const TX_FIELDLESS = ['AccountInUse', 'AccountLoadedTwice', 'AccountNotFound', 'ProgramAccountNotFound',
  'InsufficientFundsForFee', 'InvalidAccountForFee', 'AlreadyProcessed', 'BlockhashNotFound', 'CallChainTooDeep',
  'MissingSignatureForFee', 'InvalidAccountIndex', 'SignatureFailure', 'InvalidProgramForExecution', 'SanitizeFailure',
  'ClusterMaintenance', 'AccountBorrowOutstanding', 'WouldExceedMaxBlockCostLimit', 'UnsupportedVersion',
  'InvalidWritableAccount', 'WouldExceedMaxAccountCostLimit', 'WouldExceedAccountDataBlockLimit', 'TooManyAccountLocks',
  'AddressLookupTableNotFound', 'InvalidAddressLookupTableOwner', 'InvalidAddressLookupTableData',
  'InvalidAddressLookupTableIndex', 'InvalidRentPayingAccount', 'WouldExceedMaxVoteCostLimit',
  'WouldExceedAccountDataTotalLimit', 'MaxLoadedAccountsDataSizeExceeded', 'ResanitizationNeeded',
  'InvalidLoadedAccountsDataSizeLimit', 'UnbalancedTransaction', 'ProgramCacheHitMaxLimit', 'CommitCancelled'];

// Order = litesvm's InstructionErrorFieldless const enum.
const IX_FIELDLESS = ['GenericError', 'InvalidArgument', 'InvalidInstructionData', 'InvalidAccountData',
  'AccountDataTooSmall', 'InsufficientFunds', 'IncorrectProgramId', 'MissingRequiredSignature',
  'AccountAlreadyInitialized', 'UninitializedAccount', 'UnbalancedInstruction', 'ModifiedProgramId',
  'ExternalAccountLamportSpend', 'ExternalAccountDataModified', 'ReadonlyLamportChange', 'ReadonlyDataModified',
  'DuplicateAccountIndex', 'ExecutableModified', 'RentEpochModified', 'NotEnoughAccountKeys', 'AccountDataSizeChanged',
  'AccountNotExecutable', 'AccountBorrowFailed', 'AccountBorrowOutstanding', 'DuplicateAccountOutOfSync',
  'InvalidError', 'ExecutableDataModified', 'ExecutableLamportChange', 'ExecutableAccountNotRentExempt',
  'UnsupportedProgramId', 'CallDepth', 'MissingAccount', 'ReentrancyNotAllowed', 'MaxSeedLengthExceeded',
  'InvalidSeeds', 'InvalidRealloc', 'ComputationalBudgetExceeded', 'PrivilegeEscalation',
  'ProgramEnvironmentSetupFailure', 'ProgramFailedToComplete', 'ProgramFailedToCompile', 'Immutable',
  'IncorrectAuthority', 'AccountNotRentExempt', 'InvalidAccountOwner', 'ArithmeticOverflow', 'UnsupportedSysvar',
  'IllegalOwner', 'MaxAccountsDataAllocationsExceeded', 'MaxAccountsExceeded', 'MaxInstructionTraceLengthExceeded',
  'BuiltinProgramsMustConsumeComputeUnits', 'BorshIoError'];

const TX_DISPLAY = {
  AccountInUse: 'Account in use',
  AccountLoadedTwice: 'Account loaded twice',
  AccountNotFound: 'Attempt to debit an account but found no record of a prior credit.',
  ProgramAccountNotFound: 'Attempt to load a program that does not exist',
  InsufficientFundsForFee: 'Insufficient funds for fee',
  InvalidAccountForFee: 'This account may not be used to pay transaction fees',
  AlreadyProcessed: 'This transaction has already been processed',
  BlockhashNotFound: 'Blockhash not found',
  CallChainTooDeep: 'Loader call chain is too deep',
  MissingSignatureForFee: 'Transaction requires a fee but has no signature present',
  InvalidAccountIndex: 'Transaction contains an invalid account reference',
  SignatureFailure: 'Transaction did not pass signature verification',
  InvalidProgramForExecution: 'This program may not be used for executing instructions',
  SanitizeFailure: 'Transaction failed to sanitize accounts offsets correctly',
  ClusterMaintenance: 'Transactions are currently disabled due to cluster maintenance',
  UnsupportedVersion: 'Transaction version is unsupported',
  InvalidWritableAccount: 'Transaction loads a writable account that cannot be written',
  TooManyAccountLocks: 'Transaction locked too many accounts',
};

const IX_DISPLAY = {
  GenericError: 'generic instruction error',
  InvalidArgument: 'invalid program argument',
  InvalidInstructionData: 'invalid instruction data',
  InvalidAccountData: 'invalid account data for instruction',
  AccountDataTooSmall: 'account data too small for instruction',
  InsufficientFunds: 'insufficient funds for instruction',
  IncorrectProgramId: 'incorrect program id for instruction',
  MissingRequiredSignature: 'missing required signature for instruction',
  AccountAlreadyInitialized: 'instruction requires an uninitialized account',
  UninitializedAccount: 'instruction requires an initialized account',
  ExternalAccountLamportSpend: 'instruction spent from the balance of an account it does not own',
  ComputationalBudgetExceeded: 'Computational budget exceeded',
  InvalidAccountOwner: 'Invalid account owner',
  ArithmeticOverflow: 'Program arithmetic overflowed',
  IllegalOwner: 'Provided owner is not allowed',
};

// litesvm error object -> serde JSON value.
function txErrorToJson(e) {
  if (typeof e === 'number') return TX_FIELDLESS[e] ?? `Unknown(${e})`;
  if (typeof e === 'string') return e;
  const kind = e?.constructor?.name;
  if (kind === 'TransactionErrorInstructionError') return { InstructionError: [e.index, ixErrorToJson(e.err())] };
  if (kind === 'TransactionErrorDuplicateInstruction') return { DuplicateInstruction: e.index };
  if (kind === 'TransactionErrorInsufficientFundsForRent') return { InsufficientFundsForRent: { account_index: e.accountIndex } };
  if (kind === 'TransactionErrorProgramExecutionTemporarilyRestricted') return { ProgramExecutionTemporarilyRestricted: { account_index: e.accountIndex } };
  return String(e);
}

function ixErrorToJson(e) {
  if (typeof e === 'number') return IX_FIELDLESS[e] ?? `Unknown(${e})`;
  const kind = e?.constructor?.name;
  if (kind === 'InstructionErrorCustom') return { Custom: e.code };
  if (kind === 'InstructionErrorBorshIo') return { BorshIoError: e.msg };
  return String(e);
}

function ixErrorDisplay(j) {
  if (typeof j === 'string') return IX_DISPLAY[j] ?? j;
  if (j.Custom !== undefined) return `custom program error: 0x${j.Custom.toString(16)}`;
  if (j.BorshIoError !== undefined) return `Failed to serialize or deserialize account data: ${j.BorshIoError}`;
  return JSON.stringify(j);
}

// serde JSON value -> Display text.
function txErrorDisplay(j) {
  if (typeof j === 'string') return TX_DISPLAY[j] ?? j;
  if (j.InstructionError) return `Error processing Instruction ${j.InstructionError[0]}: ${ixErrorDisplay(j.InstructionError[1])}`;
  if (j.DuplicateInstruction !== undefined) return `Transaction contains a duplicate instruction (${j.DuplicateInstruction}) that is not allowed`;
  if (j.InsufficientFundsForRent) return `Transaction results in an account (${j.InsufficientFundsForRent.account_index}) with insufficient funds for rent`;
  if (j.ProgramExecutionTemporarilyRestricted) return `Execution of the program referenced by account at index ${j.ProgramExecutionTemporarilyRestricted.account_index} is temporarily restricted.`;
  return JSON.stringify(j);
}

module.exports = { txErrorToJson, txErrorDisplay };
