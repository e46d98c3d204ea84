import "./style.css";

const status = document.querySelector<HTMLElement>("#status");
if (status) status.textContent = "The script ran.";

const api = document.querySelector<HTMLElement>("#api");
if (api) {
  fetch("/api/hello")
    .then((response) => response.json() as Promise<{ message: string }>)
    .then((body) => (api.textContent = body.message))
    .catch(() => (api.textContent = "The API did not answer."));
}
