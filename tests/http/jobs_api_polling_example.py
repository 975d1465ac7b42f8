import requests
import time

API_KEY = "your_api_key"
JOB_ID = "job_abc123"
BASE_URL = "https://PLATFORM-URL-PLACEHOLDER/v1/api"

def poll_job(job_id, interval=5, timeout=300):
    """Poll job status until completion or timeout"""
    start_time = time.time()

    while time.time() - start_time < timeout:
        response = requests.get(
            f"{BASE_URL}/jobs/{job_id}",
            headers={"Authorization": f"Bearer {API_KEY}"}
        )
        job = response.json()['data']

        if job['status'] in ['completed', 'failed', 'cancelled']:
            return job

        print(f"Job {job['status']}: {job['progress']}%")
        time.sleep(interval)

    raise TimeoutError("Job polling timed out")

# Usage
job = poll_job(JOB_ID)
print(f"Job {job['status']}: {job['result']}")
