/** The bank simulators: one simulated bank per process (`paycore bank-sim`). */
export { startBankSim, type BankSim, type BankSimOptions } from './sim-server.js';
export { bankNames, bankProfiles, isBankName, cardOutcome, networkCardPrefix, type BankName, type BankProfile } from './bank-profile.js';
export { defaultBehaviour, type Behaviour } from './sim-model.js';
export { launchSimulators, type LaunchedBanks } from './sim-launcher.js';
