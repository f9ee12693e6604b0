/** The in-flight budget of the Kafka source: the one every source shares ({@link Budget}). */
export { Budget, type BudgetOptions, DEFAULT_BUDGET_OPTIONS } from '../budget.js';
