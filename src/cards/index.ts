/** Model-card parsing and Hub card harvesting. */
export {};
